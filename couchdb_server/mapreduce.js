// Map/reduce views for the embedded CouchDB: PouchDB's own view engine (pouchdb-abstract-mapreduce)
// with a cheaper way of running design-document functions.
//
// pouchdb-mapreduce builds a new `vm` context and compiles the function again for EVERY document
// (the document is pasted into the source). Measured: indexing one view over 10,000 number
// documents took 12.6 s, 70% of it in vm.createContext/vm.Script. CouchDB compiles each function
// once per view server process and feeds it documents. So do we: one sandbox context per
// function, compiled once; each call hands it the document as JSON, parsed inside the sandbox,
// so a map function sees a private copy made in its own realm, exactly as before.
'use strict';
const vm = require('vm');
const createAbstractMapReduce = require('pouchdb-abstract-mapreduce');
const { BuiltInError, NotFoundError } = require('pouchdb-mapreduce-utils');

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

// CouchDB's built-in reduce functions that PouchDB supports (_sum, _count, _stats).
const SUM_ERROR = 'builtin _sum function requires map values to be numbers or number arrays';
function builtInSum(values) {
  let total = 0;
  for (const v of values) {
    if (typeof v === 'number') {
      if (Array.isArray(total)) total[0] += v; else total += v;
    } else if (Array.isArray(v)) {
      if (!Array.isArray(total)) total = [total];
      v.forEach((n, i) => {
        if (typeof n !== 'number') throw new BuiltInError(SUM_ERROR);
        total[i] = (total[i] || 0) + n;
      });
    } else {
      throw new BuiltInError(SUM_ERROR);
    }
  }
  return total;
}
const BUILT_IN = {
  _sum: (keys, values) => builtInSum(values),
  _count: (keys, values) => values.length,
  _stats: (keys, values) => ({
    sum: builtInSum(values),
    min: Math.min(...values),
    max: Math.max(...values),
    count: values.length,
    sumsqr: values.reduce((acc, v) => acc + v * v, 0),
  }),
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

const engine = createAbstractMapReduce('mrviews', mapper, reducer, ddocValidator);

// A PouchDB plugin with the same methods as pouchdb-mapreduce.
module.exports = {
  query(fun, opts, callback) { return engine.query.call(this, fun, opts, callback); },
  viewCleanup(callback) { return engine.viewCleanup.call(this, callback); },
};
