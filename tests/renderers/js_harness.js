/* Runs static/oel.js, dates.js and numbers.js under node for the parity tests: JSON in, JSON out. */
"use strict";
const path = require("path");
const dir = path.join(__dirname, "..", "..", "renderers", "html", "static");
const OEL = require(path.join(dir, "oel.js"));
const EdcDates = require(path.join(dir, "dates.js"));
const EdcNumbers = require(path.join(dir, "numbers.js"));

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  let out;
  if (job.mode === "dates") {
    out = job.cases.map(([text, type]) => EdcDates.normaliseDateEntry(text, type));
  } else if (job.mode === "numbers") {
    out = job.cases.map(([text, kind]) => EdcNumbers.normaliseNumberEntry(text, kind));
  } else if (job.mode === "number_messages") {
    out = job.cases.map(([template, problem]) => EdcNumbers.numberMessage(template, problem));
  } else {
    const data = job.data;
    const source = {
      rows: (ref) => data[ref.group] || [],
      text: (ref, row) => (row && row.values[ref.item] !== undefined ? row.values[ref.item] : null),
    };
    const current = data[job.group][0];
    out = job.trees.map((tree) => OEL.toText(OEL.evaluate(tree, source, current)));
  }
  process.stdout.write(JSON.stringify(out));
});
