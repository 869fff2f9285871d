/*
 * OEL in the browser: evaluates the typed expression trees of
 * odm_engine.expressions.typed.to_json with the semantics of odm_engine/expressions/evaluator.py:
 * null propagates through arithmetic, comparisons and functions; and/or/not are Kleene
 * three-valued; partial dates compare by the days they may denote, so an order that is not
 * certain is unknown (null). The server recomputes everything on save: it is the authority.
 *
 * Values: null; string; number; boolean; dates {k:"date", y, m, d} (m, d, y may be null);
 * datetimes {k:"datetime", y, m, d, s (seconds of the day or null), sHi}; times {k:"time",
 * lo, hi} (seconds); durations {k:"duration", months, days, seconds}.
 *
 * A data source answers two questions: source.rows(ref) -> the rows a reference iterates over
 * (opaque handles) and source.text(ref, row) -> the text stored there (row null: the current
 * row for level "row", else the first row), or null.
 */
(function (root) {
  "use strict";

  var DAY = 86400;

  function isDate(v) { return v !== null && typeof v === "object" && v.k === "date"; }
  function isDatetime(v) { return v !== null && typeof v === "object" && v.k === "datetime"; }
  function isTime(v) { return v !== null && typeof v === "object" && v.k === "time"; }
  function isDuration(v) { return v !== null && typeof v === "object" && v.k === "duration"; }
  function isNumber(v) { return typeof v === "number"; }

  function leap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }
  function monthLength(y, m) {
    return [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  }
  /* Days since 1970-01-01 of a proleptic Gregorian date (any year). */
  function dayNumber(y, m, d) {
    y -= m <= 2 ? 1 : 0;
    var era = Math.floor(y / 400);
    var yoe = y - era * 400;
    var doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
    var doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
    return era * 146097 + doe - 719468;
  }
  function fromDayNumber(n) {
    n += 719468;
    var era = Math.floor(n / 146097);
    var doe = n - era * 146097;
    var yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
    var doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    var mp = Math.floor((5 * doy + 2) / 153);
    var d = doy - Math.floor((153 * mp + 2) / 5) + 1;
    var m = mp + (mp < 10 ? 3 : -9);
    return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
  }

  /* Earliest and latest day [y, m, d] a (partial) date may be. */
  function dateBounds(v) {
    var leapDay = v.y === null && v.m === 2 && v.d === 29;
    var y0 = v.y !== null ? v.y : (leapDay ? 4 : 1);
    var y1 = v.y !== null ? v.y : (leapDay ? 9996 : 9999);
    var m0 = v.m !== null ? v.m : 1;
    var m1 = v.m !== null ? v.m : 12;
    var d0 = v.d !== null ? v.d : 1;
    var d1 = v.d !== null ? v.d : monthLength(y1, m1);
    return [[y0, m0, d0], [y1, m1, d1]];
  }
  function dayBounds(v) {
    var b = dateBounds(v);
    return [dayNumber(b[0][0], b[0][1], b[0][2]), dayNumber(b[1][0], b[1][1], b[1][2])];
  }
  function complete(v) { return v.y !== null && v.m !== null && v.d !== null; }

  /* Seconds since 1970 bounds of a date or datetime (a date stands for its whole day). */
  function instantBounds(v) {
    var days = dayBounds(v);
    if (isDate(v) || v.s === null) return [days[0] * DAY, days[1] * DAY + DAY - 1e-6];
    return [days[0] * DAY + v.s, days[1] * DAY + v.sHi];
  }

  function order(a, b) {
    if (a[1] < b[0]) return -1;
    if (a[0] > b[1]) return 1;
    if (a[0] === a[1] && b[0] === b[1] && a[0] === b[0]) return 0;
    return null;
  }

  function compare(a, b) {
    if (a === null || b === null) return null;
    var ta = isDate(a) || isDatetime(a), tb = isDate(b) || isDatetime(b);
    if (ta || tb || isTime(a) || isTime(b)) {
      if (isTime(a) && isTime(b)) return order([a.lo, a.hi], [b.lo, b.hi]);
      if (!ta || !tb) return null;
      if (isDate(a) && isDate(b)) return order(dayBounds(a), dayBounds(b));
      return order(instantBounds(a), instantBounds(b));
    }
    if (isDuration(a) && isDuration(b)) {
      var ka = (a.months * 30 + a.days) * DAY + a.seconds;
      var kb = (b.months * 30 + b.days) * DAY + b.seconds;
      return ka > kb ? 1 : (ka < kb ? -1 : 0);
    }
    if (typeof a !== typeof b || typeof a === "object") return null;
    return a > b ? 1 : (a < b ? -1 : 0);
  }

  /* ---- reading text ------------------------------------------------------------------ */
  var DATE_RE = /^([0-9]{4}|-)(?:-([0-9]{2}|-)(?:-([0-9]{2}|-))?)?$/;
  var TIME_RE = /^([0-9]{2}|-)(?::([0-9]{2}|-)(?::([0-9]{2}(?:\.[0-9]+)?|-))?)?(Z|[+-][0-9]{2}:[0-9]{2})?$/;
  var DURATION_RE = /^P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9.]+)S)?)?$/;

  function num(part) { return part === undefined || part === "-" ? null : parseInt(part, 10); }

  function readDate(text) {
    var m = DATE_RE.exec(text);
    if (!m) return null;
    var y = num(m[1]), mo = num(m[2]), d = num(m[3]);
    if (y === null && mo === null && d === null) return null;
    if (mo !== null && (mo < 1 || mo > 12)) return null;
    if (d !== null && (d < 1 || d > (mo === null ? 31 : monthLength(y === null ? 2000 : y, mo)))) return null;
    return { k: "date", y: y, m: mo, d: d };
  }

  function timeBounds(text) {
    var m = TIME_RE.exec(text);
    if (!m) return null;
    var h = num(m[1]), mi = num(m[2]), s = m[3] === undefined || m[3] === "-" ? null : parseFloat(m[3]);
    if ((h !== null && h > 23) || (mi !== null && mi > 59) || (s !== null && s >= 60)) return null;
    var lo = (h || 0) * 3600 + (mi || 0) * 60 + (s || 0);
    var hi = (h === null ? 23 : h) * 3600 + (mi === null ? 59 : mi) * 60 + (s === null ? 59.999999 : s);
    return [lo, hi];
  }

  function readDatetime(text) {
    var parts = text.split("T");
    if (parts.length > 2) return null;
    var date = readDate(parts[0]);
    if (date === null) return null;
    if (parts.length === 1) return { k: "datetime", y: date.y, m: date.m, d: date.d, s: null, sHi: null };
    var t = timeBounds(parts[1]);
    if (t === null) return null;
    return { k: "datetime", y: date.y, m: date.m, d: date.d, s: t[0], sHi: t[1] };
  }

  function readDuration(text) {
    var m = DURATION_RE.exec(text);
    if (!m || text === "P" || text === "PT") return null;
    var n = function (i) { return m[i] ? parseFloat(m[i]) : 0; };
    return {
      k: "duration",
      months: 12 * n(1) + n(2),
      days: 7 * n(3) + n(4),
      seconds: n(7) + 60 * n(6) + 3600 * n(5)
    };
  }

  /* The value of stored text read as OEL type ``type`` (null when empty or unreadable). */
  function fromText(type, text) {
    if (text === null || text === undefined) return null;
    var t = String(text).trim();
    if (t === "") return null;
    switch (type) {
      case "text": return String(text);
      case "integer": return /^[+-]?[0-9]+$/.test(t) ? parseInt(t, 10) : null;
      case "number":
        return /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t) ? parseFloat(t) : null;
      case "boolean": {
        var l = t.toLowerCase();
        if (l === "true" || l === "1" || l === "yes" || l === "y") return true;
        if (l === "false" || l === "0" || l === "no" || l === "n") return false;
        return null;
      }
      case "date": {
        var dt = t.indexOf("T") >= 0 ? readDatetime(t) : readDate(t);
        return dt === null ? null : { k: "date", y: dt.y, m: dt.m, d: dt.d };
      }
      case "datetime": return readDatetime(t);
      case "time": {
        var b = timeBounds(t.replace(/^T/, ""));
        return b === null ? null : { k: "time", lo: b[0], hi: b[1] };
      }
      case "duration": return readDuration(t);
      default: return String(text);
    }
  }

  /* ---- writing text ------------------------------------------------------------------ */
  function pad(n, w) { var s = String(n); while (s.length < w) s = "0" + s; return s; }

  function numberText(v) {
    if (Number.isInteger(v)) return String(v);
    var s = String(parseFloat(v.toPrecision(15)));
    if (s.indexOf("e") >= 0) s = v.toFixed(20).replace(/0+$/, "").replace(/\.$/, "");
    return s === "-0" ? "0" : s;
  }

  function dateText(v) {
    var truncated = v.y !== null && (v.m !== null || v.d === null);
    if (truncated) {
      return pad(v.y, 4) + (v.m !== null ? "-" + pad(v.m, 2) + (v.d !== null ? "-" + pad(v.d, 2) : "") : "");
    }
    var part = function (p, w) { return p === null ? "-" : pad(p, w); };
    return part(v.y, 4) + "-" + part(v.m, 2) + "-" + part(v.d, 2);
  }

  function clockText(s) {
    var whole = Math.floor(s + 1e-9);
    var text = pad(Math.floor(whole / 3600), 2) + ":" + pad(Math.floor(whole % 3600 / 60), 2) + ":" + pad(whole % 60, 2);
    var frac = Math.round((s - whole) * 1e6);
    return frac > 0 ? text + "." + pad(frac, 6) : text;
  }

  function toText(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === "boolean") return v ? "true" : "false";
    if (isNumber(v)) return numberText(v);
    if (isDate(v)) return dateText(v);
    if (isDatetime(v)) {
      var d = dateText(v);
      return v.s === null ? d : d + "T" + clockText(v.s);
    }
    if (isTime(v)) return clockText(v.lo);
    if (isDuration(v)) {
      var y = Math.floor(v.months / 12), mo = v.months % 12;
      var out = "P" + (y ? y + "Y" : "") + (mo ? mo + "M" : "") + (v.days ? v.days + "D" : "");
      if (v.seconds) out += "T" + numberText(v.seconds) + "S";
      return out === "P" ? "P0D" : out;
    }
    return String(v);
  }

  /* ---- operations -------------------------------------------------------------------- */
  function addDuration(v, dur, sign) {
    var isDt = isDatetime(v);
    if (!(isDate(v) || isDt) || !complete(v) || (isDt && v.s === null)) return null;
    var months = v.y * 12 + v.m - 1 + sign * dur.months;
    var y = Math.floor(months / 12), m = months % 12 + 1;
    if (y < 1 || y > 9999) return null;
    var d = Math.min(v.d, monthLength(y, m));
    var secs = sign * dur.seconds;
    var day = dayNumber(y, m, d) + sign * dur.days;
    if (!isDt) {
      var ymd = fromDayNumber(day + Math.floor(secs / DAY));
      return { k: "date", y: ymd[0], m: ymd[1], d: ymd[2] };
    }
    var total = day * DAY + v.s + secs;
    var dayOf = Math.floor(total / DAY);
    var parts = fromDayNumber(dayOf);
    var s = total - dayOf * DAY;
    return { k: "datetime", y: parts[0], m: parts[1], d: parts[2], s: s, sHi: s };
  }

  function arith(op, a, b) {
    if (a === null || b === null) return null;
    if (isDuration(b)) return addDuration(a, b, op === "-" ? -1 : 1);
    if (isDuration(a)) return addDuration(b, a, 1);
    if (typeof a === "string" && typeof b === "string") return a + b;
    if (!isNumber(a) || !isNumber(b)) return null;
    if (op === "+") return a + b;
    if (op === "-") return a - b;
    if (op === "*") return a * b;
    return b !== 0 ? a / b : null;
  }

  function asDate(v) {
    if (isDate(v)) return v;
    if (isDatetime(v)) return { k: "date", y: v.y, m: v.m, d: v.d };
    return null;
  }

  function monthsBetween(a, b) {
    var months = (b[0] - a[0]) * 12 + (b[1] - a[1]);
    if (months > 0 && b[2] < a[2]) months -= 1;
    else if (months < 0 && b[2] > a[2]) months += 1;
    return months;
  }

  function dateDifference(unit, a, b) {
    var da = asDate(a), db = asDate(b);
    if (da === null || db === null) return null;
    var ba = dateBounds(da), bb = dateBounds(db), low, high;
    if (unit === "days") {
      low = dayNumber(bb[0][0], bb[0][1], bb[0][2]) - dayNumber(ba[1][0], ba[1][1], ba[1][2]);
      high = dayNumber(bb[1][0], bb[1][1], bb[1][2]) - dayNumber(ba[0][0], ba[0][1], ba[0][2]);
    } else {
      low = monthsBetween(ba[1], bb[0]);
      high = monthsBetween(ba[0], bb[1]);
      if (unit === "years") { low = Math.trunc(low / 12); high = Math.trunc(high / 12); }
    }
    return low === high ? low : null;
  }

  function roundHalfUp(x, digits) {
    var f = Math.pow(10, digits);
    var r = Math.floor(Math.abs(x) * f + 0.5 + 1e-9) / f;
    return x < 0 ? -r : r;
  }

  function extreme(pick, items) {
    var best = null;
    for (var i = 0; i < items.length; i++) {
      if (items[i] === null) return null;
      var o = best === null ? pick : compare(items[i], best);
      if (o === null) return null;
      if (best === null || o === pick) best = items[i];
    }
    return best;
  }

  function str2(f) {
    return function (a, b) { return typeof a === "string" && typeof b === "string" ? f(a, b) : null; };
  }

  var SCALAR = {
    days_between: function (a, b) { return dateDifference("days", a, b); },
    months_between: function (a, b) { return dateDifference("months", a, b); },
    years_between: function (a, b) { return dateDifference("years", a, b); },
    age: function (a, b) { return dateDifference("years", a, b); },
    year: function (v) { var d = asDate(v); return d ? d.y : null; },
    month: function (v) { var d = asDate(v); return d ? d.m : null; },
    day: function (v) { var d = asDate(v); return d ? d.d : null; },
    impute: function (v, rule) {
      var d = asDate(v);
      if (d === null || d.y === null || (d.m === null && d.d !== null)) return null;
      if (rule !== "first" && rule !== "middle" && rule !== "last") return null;
      if (complete(d)) return d;
      var m = d.m, day;
      if (rule === "first") { m = m !== null ? m : 1; day = 1; }
      else if (rule === "last") { m = m !== null ? m : 12; day = monthLength(d.y, m); }
      else if (m === null) { m = 7; day = 1; }
      else day = 15;
      return { k: "date", y: d.y, m: m, d: day };
    },
    len: function (s) { return typeof s === "string" ? Array.from(s).length : null; },
    lower: function (s) { return typeof s === "string" ? s.toLowerCase() : null; },
    upper: function (s) { return typeof s === "string" ? s.toUpperCase() : null; },
    contains: str2(function (a, b) { return a.indexOf(b) >= 0; }),
    starts_with: str2(function (a, b) { return a.slice(0, b.length) === b; }),
    ends_with: str2(function (a, b) { return b.length === 0 || a.slice(-b.length) === b; }),
    number: function (x) { return isNumber(x) ? x : fromText("number", String(x)); },
    text: function (x) { return toText(x); },
    round: function (x, digits) {
      if (!isNumber(x)) return null;
      return roundHalfUp(x, digits === undefined ? 0 : Math.trunc(digits));
    },
    floor: function (x) { return isNumber(x) ? Math.floor(x) : null; },
    ceil: function (x) { return isNumber(x) ? Math.ceil(x) : null; },
    abs: function (x) { return isNumber(x) ? Math.abs(x) : null; },
    power: function (x, y) {
      if (!isNumber(x) || !isNumber(y)) return null;
      var r = Math.pow(x, y);
      return isFinite(r) ? r : null;
    },
    min: function () { return extreme(-1, Array.prototype.slice.call(arguments)); },
    max: function () { return extreme(1, Array.prototype.slice.call(arguments)); }
  };

  var COMPARE = {
    "=": function (c) { return c === 0; },
    "!=": function (c) { return c !== 0; },
    "<": function (c) { return c < 0; },
    "<=": function (c) { return c <= 0; },
    ">": function (c) { return c > 0; },
    ">=": function (c) { return c >= 0; }
  };
  var AGGREGATES = { count: 1, any: 1, all: 1, sum: 1, min: 1, max: 1 };

  function sourceKey(ref) { return [ref.event, ref.form, ref.group, ref.level].join("\u0001"); }

  function today() {
    var now = new Date();
    return { k: "date", y: now.getFullYear(), m: now.getMonth() + 1, d: now.getDate() };
  }

  /* ---- the evaluator ----------------------------------------------------------------- */
  function Env(source, row) {
    this.source = source;
    this.row = row === undefined ? null : row;
    this.bound = {};
  }

  function read(node, env) {
    var row = node.level === "row" ? env.row : env.bound[sourceKey(node)];
    if (row === undefined) row = null;
    if (row === null && node.level !== "row") {
      var rows = env.source.rows(node);
      if (!rows.length) return null;
      row = rows[0];
    }
    return fromText(node.type, env.source.text(node, row));
  }

  function aggregate(node, env) {
    var ref = node.rows, key = sourceKey(ref), saved = env.bound[key], results = [];
    var rows = env.source.rows(ref);
    for (var i = 0; i < rows.length; i++) {
      env.bound[key] = rows[i];
      results.push(evaluate(node.args[0], env));
    }
    if (saved === undefined) delete env.bound[key]; else env.bound[key] = saved;
    var name = node.op;
    if (name === "any") return results.indexOf(true) >= 0 ? true : (results.indexOf(null) >= 0 ? null : false);
    if (name === "all") return results.indexOf(false) >= 0 ? false : (results.indexOf(null) >= 0 ? null : true);
    var present = results.filter(function (r) { return r !== null; });
    if (name === "count") return present.length;
    if (name === "sum") {
      var total = 0;
      for (var j = 0; j < present.length; j++) total = arith("+", total, present[j]);
      return total;
    }
    return present.length ? SCALAR[name].apply(null, present) : null;
  }

  function evaluate(node, env) {
    var op = node.op, args = node.args || [], a, b, i;
    if (op === "lit") return node.type === "null" ? null : fromText(node.type, node.value);
    if (op === "ref") return read(node, env);
    if (AGGREGATES[op] && node.rows) return aggregate(node, env);
    if (op === "and" || op === "or") {
      var stop = op === "or";
      a = evaluate(args[0], env);
      if (a === stop) return stop;
      b = evaluate(args[1], env);
      if (b === stop) return stop;
      return a === null || b === null ? null : !stop;
    }
    if (op === "not") { a = evaluate(args[0], env); return a === null ? null : !a; }
    if (op === "neg") { a = evaluate(args[0], env); return a === null ? null : -a; }
    if (COMPARE[op]) {
      var c = compare(evaluate(args[0], env), evaluate(args[1], env));
      return c === null ? null : COMPARE[op](c);
    }
    if (op === "in" || op === "notin") {
      var value = evaluate(args[0], env), unknown = false, negated = op === "notin";
      if (value === null) return null;
      for (i = 1; i < args.length; i++) {
        var o = compare(value, evaluate(args[i], env));
        if (o === 0) return !negated;
        unknown = unknown || o === null;
      }
      return unknown ? null : negated;
    }
    if (op === "+" || op === "-" || op === "*" || op === "/") {
      return arith(op, evaluate(args[0], env), evaluate(args[1], env));
    }
    switch (op) {
      case "today": return today();
      case "is_missing": return evaluate(args[0], env) === null;
      case "is_present": return evaluate(args[0], env) !== null;
      case "definitely": return evaluate(args[0], env) === true;
      case "possibly": return evaluate(args[0], env) !== false;
      case "coalesce":
        for (i = 0; i < args.length; i++) {
          a = evaluate(args[i], env);
          if (a !== null) return a;
        }
        return null;
      case "if":
        a = evaluate(args[0], env);
        if (a === null) return null;
        return evaluate(args[a ? 1 : 2], env);
      case "join":
        var sep = evaluate(args[0], env), parts = [];
        for (i = 1; i < args.length; i++) {
          a = evaluate(args[i], env);
          if (a !== null) parts.push(a);
        }
        return typeof sep !== "string" || parts.length === 0 ? null : parts.join(sep);
      default: break;
    }
    var fn = SCALAR[op];
    if (!fn) return null;
    var values = [];
    for (i = 0; i < args.length; i++) {
      a = evaluate(args[i], env);
      if (a === null) return null;
      values.push(a);
    }
    return fn.apply(null, values);
  }

  var api = {
    evaluate: function (tree, source, row) { return evaluate(tree, new Env(source, row)); },
    fromText: fromText,
    toText: toText,
    compare: compare
  };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.OEL = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
