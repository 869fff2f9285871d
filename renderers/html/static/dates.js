/*
 * Date entry as investigators type it, turned into ODM partial dates: the mirror of
 * renderers/html/dates.py normalise_date_entry (tested against the same cases).
 * normaliseDateEntry(text, dataType) -> {value: "2019-03"} or {problem: code, text: entry}
 * (code "slash" for an entry with slashes, refused on purpose: 03/04/2019 is read differently
 * by the study's countries; text is the month alone for code "month").
 */
(function (root) {
  "use strict";

  var MONTHS = {
    JAN: 1, FEB: 2, MAR: 3, APR: 4, MAY: 5, JUN: 6, JUL: 7, AUG: 8, SEP: 9, OCT: 10, NOV: 11,
    DEC: 12, "M\u00c4R": 3, MRZ: 3, MAI: 5, OKT: 10, DEZ: 12
  };
  var UNKNOWN = "UNKN|UNK|UN|UK|NK";
  var UNKNOWN_RE = new RegExp("^(?:" + UNKNOWN + ")$");
  var ISO = /^([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?$/;
  var DASHED = /^([0-9]{4}|-)-([0-9]{2}|-)-([0-9]{2}|-)$/;
  var DMY = new RegExp(
    "^(?:([0-9]{1,2}|" + UNKNOWN + ")[-. ]+)?([A-Z\u00c4]{3}|[0-9]{1,2}|" + UNKNOWN + ")[-. ]+" +
    "([0-9]+|" + UNKNOWN + ")$"
  );

  function part(token) {
    return token !== undefined && /^[0-9]+$/.test(token) ? parseInt(token, 10) : null;
  }
  function isAlpha(token) { return /^[A-Z\u00c4]+$/.test(token); }
  function leap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }

  function dateProblem(y, m, d) {
    if (y !== null && (y < 1 || y > 9999)) return true;
    if (m !== null && (m < 1 || m > 12)) return true;
    if (d === null) return false;
    if (d < 1 || d > 31) return true;
    if (m === null) return false;
    if (m === 2 && d === 29 && y !== null && !leap(y)) return true;
    var longest = m === 2 ? 29 : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
    return d > longest;
  }

  function pad(n, w) { var s = String(n); while (s.length < w) s = "0" + s; return s; }

  function canonical(y, m, d) {
    if (y !== null && (m !== null || d === null)) {
      return pad(y, 4) + (m !== null ? "-" + pad(m, 2) + (d !== null ? "-" + pad(d, 2) : "") : "");
    }
    var p = function (v, w) { return v === null ? "-" : pad(v, w); };
    return p(y, 4) + "-" + p(m, 2) + "-" + p(d, 2);
  }

  function split(entry) {
    var m = ISO.exec(entry) || DASHED.exec(entry);
    if (m) return [part(m[1]), part(m[2]), part(m[3])];
    m = DMY.exec(entry);
    if (!m) return { problem: entry.indexOf("/") >= 0 ? "slash" : "syntax" };
    var day = m[1], month = m[2], year = m[3];
    if (isAlpha(month) && !(month in MONTHS) && !UNKNOWN_RE.test(month)) return { problem: "month", text: month };
    if (/^[0-9]+$/.test(year) && year.length !== 4) return { problem: "year" };
    var monthNumber = isAlpha(month) ? (month in MONTHS ? MONTHS[month] : null) : part(month);
    return [part(year), monthNumber, part(day)];
  }

  function normaliseDateEntry(text, dataType) {
    var type = dataType || "partialDate";
    var entry = String(text).trim().split(/\s+/).join(" ").toUpperCase();
    if (entry === "") return { value: "" };
    var parts = split(entry);
    if (!Array.isArray(parts)) return { problem: parts.problem, text: parts.text || String(text).trim() };
    var y = parts[0], m = parts[1], d = parts[2];
    var shown = String(text).trim();
    if (dateProblem(y, m, d)) return { problem: "invalid", text: shown };
    if (y === null && m === null && d === null) return { problem: "syntax", text: shown };
    if (type === "date" && (y === null || m === null || d === null)) {
      return { problem: "incomplete", text: shown };
    }
    var truncated = y !== null && (m !== null || d === null);
    if (type !== "incompleteDate" && !truncated) return { problem: "gap", text: shown };
    return { value: canonical(y, m, d) };
  }

  var api = { normaliseDateEntry: normaliseDateEntry };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.EdcDates = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
