/*
 * Number entry as investigators type it (a decimal comma or a decimal point): the mirror of
 * renderers/html/numbers.py normalise_number_entry (tested against the same cases).
 * normaliseNumberEntry(text, kind) -> {value: "3.4"} or {problem: code, text: entry};
 * kind is the registry kind of the item's DataType: "integer" or "number".
 * One comma and no point is a decimal comma, unless it may group thousands (1,234): refused;
 * a point and a comma, several commas, or a comma in an integer: refused. Never a guess.
 */
(function (root) {
  "use strict";

  var THOUSANDS = /^[+-]?(?!0,)[0-9]{1,3},[0-9]{3}(?:[eE][+-]?[0-9]+)?$/;

  function normaliseNumberEntry(text, kind) {
    var entry = String(text).trim();
    if (entry.indexOf(",") < 0) return { value: entry };
    if (kind === "integer") return { problem: "integer", text: entry };
    if (entry.split(",").length > 2 || entry.indexOf(".") >= 0) {
      return { problem: "separators", text: entry };
    }
    if (THOUSANDS.test(entry)) return { problem: "ambiguous", text: entry };
    return { value: entry.replace(",", ".") };
  }

  /* The catalogue's message for a problem: {text}, {whole} and {decimal} filled in. */
  function numberMessage(template, problem) {
    var entry = problem.text || "";
    return template.split("{text}").join(entry)
      .split("{whole}").join(entry.split(",").join(""))
      .split("{decimal}").join(entry.split(",").join("."));
  }

  var api = { normaliseNumberEntry: normaliseNumberEntry, numberMessage: numberMessage };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.EdcNumbers = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
