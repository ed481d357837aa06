// View indexes for the embedded CouchDB, kept in memory.
//
// pouchdb-abstract-mapreduce keeps each view in a PouchDB database of its own: every emitted row
// is a document there, and every indexed document a `_local` document listing its rows. Indexing
// a number document into `services/quantify` cost ~0.8 ms, and a grouped reduce read every row of
// its range back as a document (~0.14 ms a number): a 10,000-number job's recounts cost more than
// its writes (bench P2, docs/benchmarks.md).
// Here a view is a sorted array of its rows, brought up to the database's update sequence the
// way PouchDB does it (its rows ordered by the same indexable strings, its query options and
// answers), and rebuilt from the changes feed after a restart, as CouchDB rebuilds a lost index.
// Tests: tests/integration/test_view_queries.py (both engines), test_embedded_views.py,
// test_embedded_matches_couchdb3.py.
'use strict';
const { collate, normalizeKey, toIndexableString } = require('pouchdb-collate');
const { QueryParseError, NotFoundError, BuiltInError, promisedCallback } = require('pouchdb-mapreduce-utils');

// Changes read per page while indexing: the event loop is free between pages (bench P5).
const PAGE = 250;
// Pages read at once while catching up: PouchDB reads each change's metadata with one LevelDB
// get after another, mostly waiting for LevelDB's threads. With four, the `services/quantify`
// recounts of three 10,000-number jobs waited 6.0 s instead of 7.9 s (bench/profile_job.py).
const READERS = 4;

const byIk = (a, b) => (a.ik < b.ik ? -1 : a.ik > b.ik ? 1 : 0);
const byKeyThenValue = (x, y) => collate(x.key, y.key) || collate(x.value, y.value);

// First index from `lo` on whose ik is >= s (or > s when `after`).
function bound(rows, s, after, lo = 0) {
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].ik < s || (after && rows[mid].ik === s)) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// Two arrays sorted by ik, as one: b's rows go in where they belong, the runs of `a` between
// them copied whole (a job adds a few thousand rows to an index of hundreds of thousands).
function merge(a, b) {
  if (!b.length) return a;
  if (!a.length) return b;
  const pieces = [];
  let from = 0;
  for (const row of b) {
    const at = bound(a, row.ik, false, from);
    if (at > from) pieces.push(a.slice(from, at));
    pieces.push([row]);
    from = at;
  }
  if (from < a.length) pieces.push(a.slice(from));
  return [].concat(...pieces);
}

// Hands the event loop back every few milliseconds of a long synchronous walk (bench P5: a
// grouped reduce over 300,000 rows held every other request up).
class Slicer {
  constructor(ms = 4) { this.ms = ms; this.since = Date.now(); }
  async tick() {
    if (Date.now() - this.since < this.ms) return;
    await new Promise(setImmediate);
    this.since = Date.now();
  }
}

class ViewIndex {
  constructor(map, reduce) {
    this.reduceDef = reduce; // the reduce function's text, compiled at the first reduced query
    this.reduceFun = null;
    this.rows = []; // {ik, key, id, value}, sorted by ik = toIndexableString([key, id(, n)])
    this.byDoc = new Map(); // document id -> the iks of its rows
    this.seq = 0;
    this.emitted = [];
    this.map = map((key, value) => this.emitted.push({ key: normalizeKey(key), value: value == null ? null : normalizeKey(value) }));
  }

  // The rows a document emits, as PouchDB orders and names them (a key emitted twice gets a
  // counter). A map function that throws emits nothing for the document, as in CouchDB.
  rowsOf(doc) {
    const id = doc._id; // as stored, whatever the map function does with its argument
    this.emitted = [];
    if (!doc._deleted) {
      try { this.map(doc); } catch (e) { this.emitted = []; }
    }
    const rows = this.emitted.sort(byKeyThenValue);
    this.emitted = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const complex = [r.key, id];
      if (i > 0 && collate(r.key, rows[i - 1].key) === 0) complex.push(i);
      r.ik = toIndexableString(complex);
      r.id = id;
    }
    return rows;
  }

  commit(pending) {
    if (!pending.size) return;
    const removed = new Set();
    const added = [];
    for (const [id, rows] of pending) {
      for (const ik of this.byDoc.get(id) || []) removed.add(ik);
      if (rows.length) this.byDoc.set(id, rows.map((r) => r.ik)); else this.byDoc.delete(id);
      for (const r of rows) added.push(r);
    }
    const kept = removed.size ? this.rows.filter((r) => !removed.has(r.ik)) : this.rows;
    this.rows = merge(kept, added.sort(byIk));
  }

  // PouchDB's allDocs over the index: `start`/`end` are indexable strings, both inclusive,
  // `start` the high end when descending. The stored rows themselves, of the index as it is
  // now (a commit makes a new array), read a slice at a time.
  async range({ start, end, descending, skip = 0, limit }) {
    const rows = this.rows;
    let lo = 0, hi = rows.length; // [lo, hi)
    const low = descending ? end : start, high = descending ? start : end;
    if (low !== undefined) lo = bound(rows, low, false);
    if (high !== undefined) hi = bound(rows, high, true);
    const n = Math.max(0, hi - lo);
    const take = Math.min(n - Math.min(skip, n), typeof limit === 'number' ? limit : Infinity);
    const out = new Array(take);
    const slicer = new Slicer();
    for (let i = 0; i < take; i++) {
      if ((i & 1023) === 1023) await slicer.tick();
      out[i] = rows[descending ? hi - 1 - skip - i : lo + skip + i];
    }
    return out;
  }
}

// The indexes of one database, brought up to it together: each changed document is read once
// for all of them (CouchDB indexes a design document's views together; two views of an account
// database read the same 10,000 documents twice otherwise).
class Feed {
  constructor(db) {
    this.db = db;
    this.indexes = new Set();
    this.current = Promise.resolve();
    this.next = null;
  }

  // Bring every index up to the database as it is now. Callers arriving while an update waits
  // to start share it; one arriving while an update runs gets the next one.
  update() {
    if (this.next) return this.next;
    const next = this.current.then(() => {
      if (this.next === next) this.next = null;
      return this._update();
    });
    this.next = next;
    this.current = next.catch(() => {});
    return next;
  }

  async _update() {
    const target = (await this.db.info()).update_seq;
    const behind = [...this.indexes].filter((ix) => ix.seq < target);
    if (!behind.length) return;
    const pending = new Map(behind.map((ix) => [ix, new Map()])); // index -> (document id -> its rows now)
    const slicer = new Slicer();
    const apply = async (changes) => {
      for (const change of changes) {
        if (change.doc._id[0] === '_') continue;
        for (const ix of behind) {
          // a later change of the same document wins
          if (ix.seq < change.seq) pending.get(ix).set(change.doc._id, ix.rowsOf(change.doc));
          await slicer.tick();
        }
      }
    };
    let since = Math.min(...behind.map((ix) => ix.seq));
    // Whole pages below `target` are read READERS at a time, then applied in order: a page's
    // changes past its last sequence are the next page's.
    while (target - since > PAGE) {
      const starts = [];
      for (let lo = since; lo + PAGE < target && starts.length < READERS; lo += PAGE) starts.push(lo);
      const pages = await Promise.all(starts.map((lo) => this._page(lo)));
      for (const [k, res] of pages.entries()) await apply(res.results.filter((c) => c.seq <= starts[k] + PAGE));
      since = starts[starts.length - 1] + PAGE;
    }
    // the rest, to the end of the feed (with what was written meanwhile)
    for (;;) {
      const res = await this._page(since);
      await apply(res.results);
      since = res.last_seq;
      if (res.results.length < PAGE) break;
    }
    for (const ix of behind) {
      ix.commit(pending.get(ix));
      ix.seq = Math.max(ix.seq, since);
    }
  }

  // The first PAGE changes after `since`, each with its document (PouchDB's own feed: one that
  // a later write made stale is left out there, and met again at its new sequence).
  _page(since) {
    return this.db.changes({
      since, limit: PAGE, include_docs: true, conflicts: true, style: 'all_docs', return_docs: true,
    });
  }
}

function coerceInteger(v) {
  if (v === undefined) return v;
  const n = Number(v);
  return !isNaN(n) && n === parseInt(v, 10) ? n : v;
}

// pouchdb-abstract-mapreduce's checks, with its wording.
function checkQueryParseError(opts, fun) {
  const startName = opts.descending ? 'endkey' : 'startkey';
  const endName = opts.descending ? 'startkey' : 'endkey';
  if (opts[startName] !== undefined && opts[endName] !== undefined && collate(opts[startName], opts[endName]) > 0) {
    throw new QueryParseError('No rows can match your key range, reverse your start_key and end_key or set {descending : true}');
  } else if (fun.reduce && opts.reduce !== false) {
    if (opts.include_docs) throw new QueryParseError('{include_docs:true} is invalid for reduce');
    if (opts.keys && opts.keys.length > 1 && !opts.group && !opts.group_level) {
      throw new QueryParseError('Multi-key fetches for reduce views must use {group: true}');
    }
  }
  for (const name of ['group_level', 'limit', 'skip']) {
    const v = opts[name];
    if (!v) continue;
    if (typeof v !== 'number') throw new QueryParseError(`Invalid value for integer: "${v}"`);
    if (v < 0) throw new QueryParseError(`Invalid value for positive integer: "${v}"`);
  }
}

function slice(rows, limit, skip = 0) {
  if (typeof limit === 'number') return rows.slice(skip, limit + skip);
  return skip > 0 ? rows.slice(skip) : rows;
}

async function reduceRows(reduceFun, rows, opts) {
  if (opts.group_level === 0) delete opts.group_level;
  const group = opts.group || opts.group_level;
  const level = isNaN(opts.group_level) ? Infinity : opts.group_level;
  const groups = [];
  const slicer = new Slicer();
  for (let i = 0; i < rows.length; i++) {
    if ((i & 1023) === 1023) await slicer.tick();
    const r = rows[i];
    let groupKey = group ? r.key : null;
    if (group && Array.isArray(groupKey)) groupKey = groupKey.slice(0, level);
    const last = groups[groups.length - 1];
    if (last && collate(last.groupKey, groupKey) === 0) {
      last.keys.push([r.key, r.id]);
      last.values.push(r.value);
    } else {
      groups.push({ keys: [[r.key, r.id]], values: [r.value], groupKey });
    }
  }
  const out = groups.map((g) => {
    let value;
    try {
      value = reduceFun(g.keys, g.values, false);
    } catch (e) {
      if (e instanceof BuiltInError) throw e;
      value = null; // a reduce that throws answers null for its group, as in CouchDB 3 (test_view_queries.py)
    }
    return { key: g.groupKey, value };
  });
  return { rows: slice(out, opts.limit, opts.skip) };
}

async function queryIndex(db, index, reducer, opts) {
  const shouldReduce = index.reduceDef && opts.reduce !== false;
  const skip = opts.skip || 0;
  if (opts.keys !== undefined && !opts.keys.length) {
    opts.limit = 0;
    delete opts.keys;
  }
  let rows;
  if (opts.keys !== undefined) {
    rows = [];
    for (const key of opts.keys) {
      for (const r of await index.range({ start: toIndexableString([key]), end: toIndexableString([key, {}]) })) rows.push(r);
    }
  } else {
    let startkey = 'start_key' in opts ? opts.start_key : undefined;
    if ('startkey' in opts) startkey = opts.startkey;
    let endkey = 'end_key' in opts ? opts.end_key : undefined;
    if ('endkey' in opts) endkey = opts.endkey;
    const q = { descending: opts.descending };
    if (startkey !== undefined) q.start = toIndexableString(opts.descending ? [startkey, {}] : [startkey]);
    if (endkey !== undefined) {
      const inclusive = (opts.inclusive_end !== false) !== Boolean(opts.descending);
      q.end = toIndexableString(inclusive ? [endkey, {}] : [endkey]);
    }
    if (opts.key !== undefined) {
      const a = toIndexableString([opts.key]), b = toIndexableString([opts.key, {}]);
      [q.start, q.end] = opts.descending ? [b, a] : [a, b];
    }
    if (!shouldReduce) Object.assign(q, { skip, limit: typeof opts.limit === 'number' ? opts.limit : undefined });
    rows = await index.range(q);
  }
  if (shouldReduce) {
    const result = await reduceRows(index.reduceFun || (index.reduceFun = reducer(index.reduceDef)), rows, opts);
    if (opts.update_seq) result.update_seq = index.seq;
    return result;
  }
  rows = rows.map((r) => ({ id: r.id, key: r.key, value: r.value })); // the answer's own rows (`doc` is added)
  const result = { total_rows: index.rows.length, offset: skip, rows: opts.keys === undefined ? rows : slice(rows, opts.limit, opts.skip) };
  if (opts.update_seq) result.update_seq = index.seq;
  if (opts.include_docs) {
    const docId = (r) => (r.value && typeof r.value === 'object' && r.value._id) || r.id;
    const ids = [...new Set(rows.map(docId))];
    const found = await db.allDocs({
      keys: ids, include_docs: true, conflicts: opts.conflicts, attachments: opts.attachments, binary: opts.binary,
    });
    const docs = new Map(found.rows.map((r) => [r.id, r.doc]));
    for (const r of rows) {
      const doc = docs.get(docId(r));
      if (doc) r.doc = doc;
    }
  }
  return result;
}

// A PouchDB plugin (query, viewCleanup) over in-memory indexes. `mapper(fun, emit)` and
// `reducer(fun)` turn a design document's function text into functions; `validate(ddoc, view)`
// throws for a view it cannot run.
function createViewEngine(mapper, reducer, validate) {
  // db -> {feed, views: Map(ddoc/view -> {signature, index})}; a deleted database's object
  // goes with its views
  const dbs = new WeakMap();
  const signature = (fun) => `${fun.map}\u0000${fun.reduce}`;

  function viewsOf(db) {
    let state = dbs.get(db);
    if (!state) dbs.set(db, (state = { feed: new Feed(db), views: new Map() }));
    return state;
  }

  function indexFor(db, name, fun) {
    const { feed, views } = viewsOf(db);
    let entry = views.get(name);
    if (!entry || entry.signature !== signature(fun)) {
      if (entry) feed.indexes.delete(entry.index);
      entry = { signature: signature(fun), index: new ViewIndex((emit) => mapper(fun.map, emit), fun.reduce) };
      views.set(name, entry);
      feed.indexes.add(entry.index);
    }
    return { feed, index: entry.index };
  }

  async function run(db, fun, opts) {
    for (const name of ['group_level', 'limit', 'skip']) opts[name] = coerceInteger(opts[name]);
    if (typeof fun === 'function') fun = { map: fun };
    if (typeof fun !== 'string') { // a temporary view, read from a feed of its own
      checkQueryParseError(opts, fun);
      const feed = new Feed(db);
      const index = new ViewIndex((emit) => mapper(fun.map, emit), fun.reduce);
      feed.indexes.add(index);
      await feed.update();
      return queryIndex(db, index, reducer, opts);
    }
    const [ddocName, viewName] = fun.indexOf('/') === -1 ? [fun, fun] : fun.split('/');
    const ddoc = await db.get('_design/' + ddocName);
    const def = ddoc.views && ddoc.views[viewName];
    if (!def) throw new NotFoundError(`ddoc ${ddoc._id} has no view named ${viewName}`);
    validate(ddoc, viewName);
    checkQueryParseError(opts, def);
    const { feed, index } = indexFor(db, `${ddocName}/${viewName}`, def);
    if (opts.stale === 'ok' || opts.stale === 'update_after') {
      await feed.current; // as PouchDB: behind the update in progress, without starting one
      if (opts.stale === 'update_after') setImmediate(() => feed.update().catch(() => {}));
    } else {
      await feed.update();
    }
    return queryIndex(db, index, reducer, opts);
  }

  // Forget the indexes of views their design documents no longer have.
  async function cleanup(db) {
    const { feed, views } = viewsOf(db);
    for (const [name, entry] of views) {
      const [ddocName, viewName] = name.split('/');
      const ddoc = await db.get('_design/' + ddocName).catch(() => null);
      const def = ddoc && ddoc.views && ddoc.views[viewName];
      if (!def || signature(def) !== entry.signature) {
        views.delete(name);
        feed.indexes.delete(entry.index);
      }
    }
    return { ok: true };
  }

  return {
    query(fun, opts, callback) {
      if (typeof opts === 'function') [callback, opts] = [opts, {}];
      const promise = Promise.resolve().then(() => run(this, fun, opts || {}));
      promisedCallback(promise, callback);
      return promise;
    },
    viewCleanup(callback) {
      const promise = Promise.resolve().then(() => cleanup(this));
      promisedCallback(promise, callback);
      return promise;
    },
  };
}

module.exports = { createViewEngine };
