// Map/reduce views for the embedded CouchDB: how design-document functions run. The indexes
// themselves are kept in memory by view_index.js (PouchDB's were documents in LevelDB).
//
// pouchdb-mapreduce builds a new `vm` context and compiles the function again for EVERY document
// (the document is pasted into the source). Measured: indexing one view over 10,000 number
// documents took 12.6 s, 70% of it in vm.createContext/vm.Script. CouchDB compiles each function
// once per view server process and feeds it documents. So do we: one sandbox context per
// function, compiled once; each call hands it the document as JSON, parsed inside the sandbox,
// so a map function sees a private copy made in its own realm, exactly as before.
'use strict';
const vm = require('vm');
const { BuiltInError, NotFoundError } = require('pouchdb-mapreduce-utils');
const { createViewEngine } = require('./view_index');

// Runs inside the sandbox. `__source__` is the design document's function text.
const SANDBOX_PRELUDE = `
  "use strict";
  var __emitted__ = [];
  var emit = function (key, value) { __emitted__.push([key, value]); };
  var log = function () {};
  var isArray = Array.isArray;
  var toJSON = JSON.parse;
  var sum = function (values) {
    var total = 0;
    for (var i = 0; i < values.length; i++) total += values[i];
    return total;
  };
  var __fun__ = (__source__);
  (function (a, b, c) {
    __emitted__ = [];
    var result = __fun__(a === undefined ? undefined : JSON.parse(a),
                         b === undefined ? undefined : JSON.parse(b),
                         c === undefined ? undefined : JSON.parse(c));
    return { result: result, emitted: __emitted__ };
  })`;

function compile(source, emit) {
  const text = String(source).replace(/;\s*$/, '');
  // A syntax error surfaces when the view is first used, as with pouchdb-mapreduce.
  const run = vm.runInNewContext(SANDBOX_PRELUDE.replace('__source__', () => text));
  return function (a, b, c) {
    const out = run(a === undefined ? undefined : JSON.stringify(a),
      b === undefined ? undefined : JSON.stringify(b),
      c === undefined ? undefined : JSON.stringify(c));
    if (emit) for (const [key, value] of out.emitted) emit(key, value);
    return out.result;
  };
}

// CouchDB 3's built-in reduces (couch_query_servers.erl) over numbers and arrays of numbers.
// _sum over anything else answers that row with CouchDB's builtin_reduce_error object (status
// 200); _stats over anything else is a 500 invalid_value with CouchDB's reason. Tests:
// test_embedded_matches_couchdb3.py::test_sum_over_a_non_number_is_an_error_row and
// ::test_stats_over_null_is_invalid_value.
const SUM_ERROR = 'The _sum function requires that map values be numbers, arrays of numbers, or objects. ' +
  'Objects cannot be mixed with other data structures. Objects can be arbitrarily nested, provided that ' +
  'the values for all fields are themselves numbers, arrays of numbers, or objects.';
class SumError extends Error {
  constructor(cause) { super(SUM_ERROR); this.cause = cause; }
}

function addValue(total, v) {
  if (typeof v === 'number' && typeof total === 'number') return total + v;
  if (!Array.isArray(v) && typeof v !== 'number') throw new SumError(v);
  const a = Array.isArray(total) ? total : [total], b = Array.isArray(v) ? v : [v];
  const sum = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i >= a.length || i >= b.length) { sum.push(i < a.length ? a[i] : b[i]); continue; }
    if (typeof a[i] !== 'number' || typeof b[i] !== 'number') throw new SumError(a);
    sum.push(a[i] + b[i]);
  }
  return sum;
}

function builtInSum(values) {
  try {
    return values.reduce(addValue, 0);
  } catch (err) {
    if (!(err instanceof SumError)) throw err;
    return { error: 'builtin_reduce_error', reason: err.message, caused_by: err.cause === undefined ? null : err.cause };
  }
}

// A value as Erlang's io_lib ~w prints the JSON term CouchDB decoded (for _stats' reasons).
function erlangTerm(v) {
  if (typeof v === 'string') return `<<${JSON.stringify(v)}>>`;
  if (Array.isArray(v)) return `[${v.map(erlangTerm).join(',')}]`;
  if (v && typeof v === 'object') return `{[${Object.entries(v).map(([k, x]) => `{${erlangTerm(k)},${erlangTerm(x)}}`).join(',')}]}`;
  return String(v);
}

function numberStats(values) {
  const stats = { sum: 0, count: values.length, min: Infinity, max: -Infinity, sumsqr: 0 };
  for (const v of values) {
    stats.sum += v; stats.min = Math.min(stats.min, v); stats.max = Math.max(stats.max, v); stats.sumsqr += v * v;
  }
  return stats;
}

function builtInStats(values) {
  if (!values.length) return { sum: 0, count: 0, min: 0, max: 0, sumsqr: 0 };
  const [first, ...rest] = values;
  const isNumbers = (v) => Array.isArray(v) && v.every((n) => typeof n === 'number');
  if (typeof first !== 'number' && !isNumbers(first))
    throw new BuiltInError(`non-numeric _stats input: ${erlangTerm(first)}`);
  const bad = rest.find((v) => (Array.isArray(first) ? !(isNumbers(v) && v.length === first.length) : typeof v !== 'number'));
  if (bad !== undefined) {
    throw new BuiltInError('The _stats function requires that map values be numbers or arrays of numbers, ' +
      `not '${erlangTerm(bad)}'`);
  }
  return Array.isArray(first) ? first.map((_, i) => numberStats(values.map((v) => v[i]))) : numberStats(values);
}

const BUILT_IN = {
  _sum: (keys, values) => builtInSum(values),
  _count: (keys, values) => values.length,
  _stats: (keys, values) => builtInStats(values),
};

function mapper(mapFun, emit) {
  // temporary views given as real functions (emit passed in), as pouchdb-mapreduce allows
  if (typeof mapFun === 'function' && mapFun.length === 2) return (doc) => mapFun(doc, emit);
  return compile(mapFun, emit);
}

function reducer(reduceFun) {
  const text = String(reduceFun).trim();
  const name = Object.keys(BUILT_IN).find((n) => text.startsWith(n));
  if (name) return BUILT_IN[name];
  if (text.startsWith('_')) throw new Error(`${text} is not a supported reduce function.`);
  return compile(text);
}

function ddocValidator(ddoc, viewName) {
  const fun = ddoc.views && ddoc.views[viewName];
  if (typeof fun.map !== 'string') {
    throw new NotFoundError(`ddoc ${ddoc._id} has no string view named ${viewName}, ` +
      `instead found object of type: ${typeof fun.map}`);
  }
}

// A PouchDB plugin with the same methods as pouchdb-mapreduce, its indexes in memory (view_index.js).
module.exports = createViewEngine(mapper, reducer, ddocValidator);
