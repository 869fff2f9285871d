/*
 * Live behaviour of the forms rendered by renderers/html: skip logic, derived values, date
 * and number entry, adding and removing rows of repeating item groups. Needs oel.js, dates.js
 * and numbers.js.
 * No inline handlers: everything is wired here from data attributes (see render.py's
 * module docstring for the contract). The server recomputes all of it on save.
 */
(function () {
  "use strict";

  var PLACEHOLDER = "%ROW%";
  var OEL = window.OEL, EdcDates = window.EdcDates, EdcNumbers = window.EdcNumbers;

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function attr(el, name) { return el.getAttribute(name); }

  function childrenWith(root, selector, name, value) {
    return Array.prototype.filter.call(root.querySelectorAll(selector), function (el) {
      return attr(el, name) === value;
    });
  }

  function Form(container) {
    this.el = container;
    var planEl = document.getElementById(attr(container, "data-plan"));
    this.plan = planEl ? JSON.parse(planEl.textContent) : { conditions: [], derivations: [], outside: [] };
    this.messages = this.plan.messages || {};
  }

  Form.prototype.group = function (oid) {
    return childrenWith(this.el, "fieldset.item-group", "data-group", oid)[0] || null;
  };

  /* Rows of an item group: <tr> of a repeating group (removed ones excluded), else the fieldset. */
  Form.prototype.groupRows = function (oid) {
    var group = this.group(oid);
    if (!group) return [];
    if (attr(group, "data-repeating") !== "true") return [group];
    var body = group.querySelector("table.rows > tbody");
    return Array.prototype.filter.call(body ? body.children : [], function (tr) {
      return tr.classList.contains("row") && attr(tr, "data-removed") !== "true";
    });
  };

  Form.prototype.fieldIn = function (row, item) {
    return childrenWith(row, "div.field", "data-item", item)[0] || null;
  };

  function fieldText(field) {
    if (field.hidden || attr(field, "data-not-collected") === "true") return null;
    var widget = attr(field, "data-widget");
    if (widget === "radio") {
      var checked = field.querySelector("input[type=radio]:checked");
      return checked ? checked.value : null;
    }
    if (widget === "checkbox") {
      var box = field.querySelector("input[type=checkbox]");
      var marker = field.querySelector("input.checkbox-marker");
      if (box && box.checked) return "true";
      return marker && !marker.disabled ? "false" : null; /* never answered: no value */
    }
    var control = field.querySelector("[data-field-control], input:not([type=hidden]), select:not(.unit-select), textarea");
    if (!control) return null;
    var kind = attr(control, "data-date-kind");
    if (kind) {
      var normal = EdcDates.normaliseDateEntry(control.value, kind);
      return normal.problem ? null : normal.value;
    }
    var numberKind = attr(control, "data-number-kind");
    if (numberKind) { /* 3,4 is 3.4 to the rules too; a refused entry is no value */
      var number = EdcNumbers.normaliseNumberEntry(control.value, numberKind);
      return number.problem || number.value === "" ? null : number.value;
    }
    return control.value === "" ? null : control.value;
  }

  Form.prototype.outside = function (ref) {
    var list = this.plan.outside || [];
    for (var i = 0; i < list.length; i++) {
      var o = list[i];
      if (o.event === ref.event && o.form === ref.form && o.group === ref.group &&
          o.item === ref.item && o.level === ref.level) return o.values;
    }
    return [];
  };

  /* The data source oel.js reads: rows of a reference and the text stored in one row. */
  Form.prototype.source = function () {
    var self = this;
    return {
      rows: function (ref) {
        if (ref.level === "event" || ref.level === "study") {
          return self.outside(ref).map(function (_, i) { return i; });
        }
        return self.groupRows(ref.group);
      },
      text: function (ref, row) {
        if (ref.level === "event" || ref.level === "study") {
          var values = self.outside(ref);
          return values[row] === undefined ? null : values[row];
        }
        if (row === null || row === undefined) return null;
        var field = self.fieldIn(row, ref.item);
        return field ? fieldText(field) : null;
      }
    };
  };

  function setCollected(field, collected) {
    if (collected === !field.hidden) return;
    field.hidden = !collected;
    if (collected) field.removeAttribute("data-not-collected");
    else field.setAttribute("data-not-collected", "true");
    each(field.querySelectorAll("input, select, textarea"), function (input) {
      input.disabled = !collected;
      if (input.classList.contains("checkbox-marker")) input.disabled = true;
      if (collected) return;
      if (input.type === "radio" || input.type === "checkbox") input.checked = false;
      else if (input.type !== "hidden" && !input.classList.contains("unit-select")) input.value = "";
    });
  }

  Form.prototype.evaluate = function (rule, row) {
    try {
      return OEL.evaluate(rule.expr, this.source(), row);
    } catch (e) {
      return null; /* the server decides */
    }
  };

  Form.prototype.refresh = function () {
    var self = this;
    (this.plan.conditions || []).forEach(function (rule) {
      var rows = self.groupRows(rule.group);
      if (rule.item === null || rule.item === undefined) {
        var group = self.group(rule.group);
        if (!group || !rows.length) return;
        var skip = self.evaluate(rule, rows[0]) === true;
        group.hidden = skip;
        group.disabled = skip;
        each(group.querySelectorAll("div.field"), function (f) { setCollected(f, !skip); });
        return;
      }
      rows.forEach(function (row) {
        var field = self.fieldIn(row, rule.item);
        if (field) setCollected(field, self.evaluate(rule, row) !== true);
      });
    });
    (this.plan.derivations || []).forEach(function (rule) {
      self.groupRows(rule.group).forEach(function (row) {
        var field = self.fieldIn(row, rule.item);
        var input = field && field.querySelector("input.derived-value");
        if (!input || field.hidden) return;
        var text = OEL.toText(self.evaluate(rule, row));
        input.value = text === null ? "" : text;
      });
    });
  };

  /* Show (or, with null, clear) the browser's own message for an entry of this field. */
  Form.prototype.entryMessage = function (input, text) {
    var field = input.closest("div.field");
    if (!field) return;
    var list = field.querySelector("ul.messages");
    each(field.querySelectorAll("li.client"), function (li) { li.remove(); });
    input.removeAttribute("aria-invalid");
    if (text === null || !list) return;
    var li = document.createElement("li");
    li.className = "message error client";
    li.setAttribute("role", "alert");
    li.textContent = text;
    list.appendChild(li);
    input.setAttribute("aria-invalid", "true");
  };

  Form.prototype.normaliseDate = function (input) {
    var result = EdcDates.normaliseDateEntry(input.value, attr(input, "data-date-kind"));
    if (result.problem) {
      var template = this.messages["date." + result.problem] || result.problem;
      this.entryMessage(input, template.split("{text}").join(result.text || ""));
      return;
    }
    input.value = result.value;
    this.entryMessage(input, null);
  };

  /* A number is left as typed (the server reads 3,4 as 3.4); a refused one is flagged now. */
  Form.prototype.checkNumber = function (input) {
    var result = EdcNumbers.normaliseNumberEntry(input.value, attr(input, "data-number-kind"));
    if (!result.problem) { this.entryMessage(input, null); return; }
    var template = this.messages["number." + result.problem] || result.problem;
    this.entryMessage(input, EdcNumbers.numberMessage(template, result));
  };

  function renameRow(node, key) {
    each(node.querySelectorAll("*"), function (el) {
      each(["name", "id", "for", "aria-describedby", "aria-labelledby", "data-field", "data-key"], function (a) {
        var v = attr(el, a);
        if (v !== null && v.indexOf(PLACEHOLDER) >= 0) el.setAttribute(a, v.split(PLACEHOLDER).join(key));
      });
    });
  }

  Form.prototype.addRow = function (group) {
    var template = group.querySelector("template.row-template");
    var body = group.querySelector("table.rows > tbody");
    if (!template || !body) return;
    var highest = 0;
    each(body.querySelectorAll("tr.row"), function (tr) {
      var key = attr(tr, "data-key");
      if (/^[0-9]+$/.test(key)) highest = Math.max(highest, parseInt(key, 10));
    });
    var key = String(highest + 1);
    var fragment = template.content.cloneNode(true);
    var row = fragment.querySelector("tr.row");
    row.setAttribute("data-key", key);
    renameRow(fragment, key);
    body.appendChild(fragment);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
    this.refresh();
  };

  Form.prototype.removeRow = function (button) {
    var row = button.closest("tr.row");
    if (!row) return;
    if (attr(row, "data-saved") !== "true") { row.remove(); this.refresh(); return; }
    var removed = attr(row, "data-removed") === "true";
    var marker = row.querySelector("input.remove-marker");
    if (removed) row.removeAttribute("data-removed");
    else row.setAttribute("data-removed", "true");
    row.classList.toggle("removed", !removed);
    each(row.querySelectorAll("input, select, textarea"), function (input) {
      if (input === marker) { input.disabled = removed; return; }
      if (removed) { /* undo: back to the state before the removal */
        input.disabled = attr(input, "data-was-disabled") === "true";
        input.removeAttribute("data-was-disabled");
      } else {
        input.setAttribute("data-was-disabled", input.disabled ? "true" : "false");
        input.disabled = true;
      }
    });
    button.textContent = removed ? (this.messages.remove_row || button.textContent)
      : (this.messages.undo_remove || button.textContent);
    this.refresh();
  };

  Form.prototype.wire = function () {
    var self = this;
    this.el.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (!button || !self.el.contains(button)) return;
      if (attr(button, "data-action") === "add-row") self.addRow(button.closest("fieldset.item-group"));
      if (attr(button, "data-action") === "remove-row") self.removeRow(button);
    });
    this.el.addEventListener("input", function () { self.refresh(); });
    this.el.addEventListener("change", function (event) {
      var target = event.target;
      if (target.hasAttribute && target.hasAttribute("data-date-kind")) self.normaliseDate(target);
      if (target.hasAttribute && target.hasAttribute("data-number-kind")) self.checkNumber(target);
      if (target.type === "checkbox") {
        var marker = target.parentNode.querySelector("input.checkbox-marker");
        if (marker) marker.disabled = false; /* answered now: unchecked means false */
      }
      self.refresh();
    });
    this.refresh();
  };

  function start() {
    each(document.querySelectorAll("div.edc-form"), function (el) { new Form(el).wire(); });
    each(document.querySelectorAll("form.edc-preview-form"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        each(form.querySelectorAll("input[data-date-kind]"), function (input) {
          input.dispatchEvent(new Event("change", { bubbles: true }));
        });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
