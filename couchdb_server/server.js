#!/usr/bin/env node
// Embedded dev/test stand-in for Apache CouchDB 3: express-pouchdb 4.2.0 on PouchDB 7.3.1.
// Only what this service and its tests need is corrected here, each correction named after the
// CouchDB 3 behaviour it imitates and the test that shows it (couchdb_server/README.md).
// No function of the libraries is replaced: requests are checked or rewritten before
// express-pouchdb sees them, and PouchDB methods are wrapped through its own dbWrapper hook.
// Usage: node server.js --host 127.0.0.1 --port 5984 (--data-dir DIR | --in-memory)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { AsyncLocalStorage } = require('async_hooks');
const express = require('express');
const bodyParser = require('body-parser');
const expressPouchDB = require('express-pouchdb');
const { collate } = require('pouchdb-collate');

// ---- command line ---------------------------------------------------------------------------
const args = { host: '127.0.0.1', port: 5984, dataDir: null, inMemory: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--host') args.host = process.argv[++i];
  else if (a === '--port') args.port = Number(process.argv[++i]);
  else if (a === '--data-dir') args.dataDir = process.argv[++i];
  else if (a === '--in-memory') args.inMemory = true;
  else { console.error(`unknown argument ${a}`); process.exit(2); }
}
if (args.inMemory === Boolean(args.dataDir) || !Number.isInteger(args.port)) {
  console.error('usage: server.js --host H --port P (--data-dir DIR | --in-memory)');
  process.exit(2);
}
// Log and config.json always go into the data dir (never the cwd); in memory, into a temp dir.
const stateDir = args.inMemory ? fs.mkdtempSync(path.join(os.tmpdir(), 'couchdb-mem-'))
  : path.resolve(args.dataDir);
fs.mkdirSync(stateDir, { recursive: true });
const removeTemp = () => { if (args.inMemory) fs.rmSync(stateDir, { recursive: true, force: true }); };
process.on('exit', removeTemp);

let PouchDB = require('pouchdb-core')
  .plugin(require(args.inMemory ? 'pouchdb-adapter-memory' : 'pouchdb-adapter-leveldb'))
  .plugin(require('./mapreduce')) // views: in-memory indexes (view_index.js), functions compiled once
  .plugin(require('pouchdb-replication'))
  .plugin(require('pouchdb-find'));
// Design-document views are kept by view_index.js (via mapreduce.js). pouchdb-find's Mango
// indexes still use PouchDB's own engine, whose updater reads changes in pages and stops only at
// a short page: with its pages of 50 it chases a database being written into until the writes
// stop. Pages of 10,000 end the chase after what was there (bench P5, docs/benchmarks.md).
const VIEW_PAGE = { view_update_changes_batch_size: 10000 };
PouchDB = PouchDB.defaults(args.inMemory ? { adapter: 'memory', ...VIEW_PAGE }
  : { adapter: 'leveldb', prefix: stateDir + path.sep, ...VIEW_PAGE });

const json = (res, status, body) => {
  res.status(status);
  res.setHeader('Content-Type', 'application/json');
  res.send(Buffer.from(JSON.stringify(body) + '\n'));
};
const queryParseError = (reason) => ({ error: 'query_parse_error', reason });

// ---- express-pouchdb ------------------------------------------------------------------------
const pouchApp = expressPouchDB({
  mode: 'fullCouchDB',
  configPath: path.join(stateDir, 'config.json'),
  logPath: path.join(stateDir, 'log.txt'),
  // compression: CouchDB 3 answers uncompressed (and gzip held continuous answers back).
  // validation: its _bulk_docs wrapper answers in random order; CouchDB 3 answers in request
  // order (tests/integration/test_storage.py::test_a_large_bulk_written_in_slices_answers_as_one),
  // so validate_doc_update functions are not enforced here.
  overrideMode: { exclude: ['compression', 'validation'] },
});
pouchApp.disable('x-powered-by');
pouchApp.set('etag', false); // no hash of every answer body: CouchDB sends no such ETag

// ---- large _bulk_docs in slices -------------------------------------------------------------
// CouchDB 3 serves each request in its own process: a _bulk_docs holds up no read of another
// database. PouchDB runs a bulk's per-document reads and callbacks on the one JS thread in one
// burst, and a GET of another database waited for most of a 2,000-document bulk (bench P5:
// p50 222 ms, 23 ms sliced; docs/decisions.md). A larger request is written BULK_SLICE
// documents at a time, the event loop free in between; the results keep the request's order
// (test_storage.py::test_a_large_bulk_written_in_slices_answers_as_one; CouchDB 3's _bulk_docs
// is not atomic either). Env KAZOO_COUCHDB_BULK_SLICE (0: no slicing).
const BULK_SLICE = Number(process.env.KAZOO_COUCHDB_BULK_SLICE || 100);
pouchApp.dbWrapper.registerWrapper((name, db, next) => {
  const bulkDocs = db.bulkDocs;
  db.bulkDocs = function (body, opts, callback) {
    const docs = body && (Array.isArray(body) ? body : body.docs);
    if (!(BULK_SLICE > 0) || typeof callback !== 'function' || !Array.isArray(docs) || docs.length <= BULK_SLICE)
      return bulkDocs.apply(this, arguments);
    const results = [];
    let start = 0;
    const step = () => {
      const slice = docs.slice(start, start + BULK_SLICE);
      const part = Array.isArray(body) ? slice : Object.assign({}, body, { docs: slice });
      bulkDocs.call(this, part, Object.assign({}, opts), (err, res) => {
        if (err) return callback(err);
        for (const r of res) results.push(r);
        start += BULK_SLICE;
        if (start < docs.length) setImmediate(step);
        else callback(null, results);
      });
    };
    step();
  };
  return next();
});

// ---- database names -------------------------------------------------------------------------
// CouchDB 3 allows "/" in database names (Kazoo's account/ab/cd/...); express-pouchdb's
// sanitize-filename strips it, so "a/bc" and "ab/c" collide. "~" is not a legal name character:
// the request names the database "a~bc" on disk, and _all_dbs shows "a/bc" again
// (test_storage.py::test_database_names_with_slashes). An illegal name is CouchDB 3's
// 400 illegal_database_name (test_embedded_matches_couchdb3.py::test_an_illegal_database_name_is_refused).
const VALID_DB = /^[a-z][a-z0-9_$()+/-]*$/;
const toDisk = (n) => n.replace(/\//g, '~');
const fromDisk = (n) => n.replace(/~/g, '/');
const illegal = (name) => ({ error: 'illegal_database_name', reason: `Name: '${name}'. Only lowercase ` +
  'characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, and / are allowed. ' +
  'Must begin with a letter.' });

function mapDbName(req, res, next) {
  const q = req.url.indexOf('?');
  const segs = (q < 0 ? req.url : req.url.slice(0, q)).split('/').slice(1); // still %-encoded
  const dbLevel = segs.length === 1 || (segs.length === 2 && segs[1] === '');
  if (!segs[0] || (segs[0][0] === '_' && !(req.method === 'PUT' && dbLevel)))
    return next(); // server-level endpoint (/_all_dbs, /_session, ...)
  let name;
  try { name = decodeURIComponent(segs[0]); } catch (e) { return json(res, 400, { error: 'bad_request', reason: 'invalid URL encoding' }); }
  if (!(VALID_DB.test(name) && name.length <= 238)) {
    return req.method === 'PUT' && dbLevel ? json(res, 400, illegal(name))
      : json(res, 404, { error: 'not_found', reason: 'Database does not exist.' });
  }
  req.couchRest = segs.slice(1);
  // originalUrl too: express-pouchdb's vhost part resets req.url from it.
  req.url = req.originalUrl = '/' + [encodeURIComponent(toDisk(name)), ...req.couchRest].join('/') +
    (q < 0 ? '' : req.url.slice(q));
  next();
}

// GET /_all_dbs with the "/" restored, sorted, minus PouchDB internals, with CouchDB's paging
// options (storage/couch.py all_dbs; test_storage.py::test_database_names_with_slashes).
async function allDbs(req, res) {
  const q = {};
  for (const k of ['startkey', 'start_key', 'endkey', 'end_key', 'limit', 'skip', 'descending', 'inclusive_end']) {
    if (req.query[k] !== undefined) { try { q[k] = JSON.parse(req.query[k]); } catch (e) { return json(res, 400, queryParseError(`Invalid value for ${k}`)); } }
  }
  let names = (await PouchDB.allDbs()).filter((n) => n !== 'pouch__auth_sessions__')
    .map(fromDisk).sort();
  const start = q.startkey ?? q.start_key, end = q.endkey ?? q.end_key;
  if (q.descending) names.reverse();
  const before = (a, b) => (q.descending ? a > b : a < b);
  if (start !== undefined) names = names.filter((n) => !before(n, start));
  if (end !== undefined) names = names.filter((n) => before(n, end) || (q.inclusive_end !== false && n === end));
  names = names.slice(q.skip || 0);
  if (q.limit !== undefined) names = names.slice(0, q.limit);
  json(res, 200, names);
}

// ---- request bodies -------------------------------------------------------------------------
// The body is read here, before express-pouchdb, when a CouchDB 3 check needs it; its own
// parser then finds it read.
const parseAny = bodyParser.json({ limit: '4gb', strict: false, type: () => true });
const isJsonType = (req) => (req.headers['content-type'] || '').split(';')[0] === 'application/json';
const isObject = (v) => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

function parseBody(req, res, then) {
  parseAny(req, res, (err) => {
    if (!err) return then(req.body);
    if (err.status === 413) return json(res, 413, { error: 'too_large', reason: 'the request entity is too large' });
    json(res, err.status || 400, { error: 'bad_request', reason: err.status === 400 ? 'invalid UTF-8 JSON' : err.message });
  });
}

// CouchDB 3 (chttpd validate_ctype) refuses a JSON POST (_bulk_docs, _all_docs, views, ...)
// whose Content-Type is not application/json with 415; express-pouchdb would read it as {}.
// Test: test_embedded_matches_couchdb3.py::test_a_json_post_without_its_content_type_is_415.
function refusesContentType(req, rest) {
  const first = rest[0] || '';
  const jsonPost = first === '' || (first[0] === '_' && first !== '_design' && first !== '_view_cleanup') ||
    (first === '_design' && rest[2] === '_view');
  return req.method === 'POST' && jsonPost && !isJsonType(req);
}

// The id of a document PUT (/db/id, /db/_design/id, /db/_local/id; not attachments or
// /db/_security), or null.
function putDocId(req, rest) {
  const first = rest[0] || '';
  const isDocPut = req.method === 'PUT' && !/^multipart\//.test(req.headers['content-type'] || '') &&
    ((rest.length === 1 && first && first[0] !== '_') || (rest.length === 2 && (first === '_design' || first === '_local')));
  return isDocPut ? rest.join('/') : null;
}

// CouchDB 3's [couchdb] max_document_size: a document whose body (its fields other than _id,
// _rev, ...) encodes to more than 8000000 bytes is refused (couch_doc:from_json_obj_validate)
// with 413 document_too_large, reason = the body's _id ("" when it has none, even on a PUT to
// /db/id); in _bulk_docs one such document fails the whole request. Tests:
// tests/hostile/test_limits.py::test_embedded_couchdb_refuses_documents_over_8000000_bytes and
// test_embedded_matches_couchdb3.py::test_max_document_size_counts_the_body_without_its_id.
const MAX_DOCUMENT_SIZE = 8000000;
function bodySize(doc) {
  const body = {};
  for (const k of Object.keys(doc)) if (k[0] !== '_') body[k] = doc[k];
  return Buffer.byteLength(JSON.stringify(body));
}
const tooLarge = (doc) => isObject(doc) && bodySize(doc) > MAX_DOCUMENT_SIZE;
const documentTooLarge = (doc) => ({ error: 'document_too_large', reason: String(doc._id || '') });

// PUT /db/id: CouchDB 3 reads the body as JSON whatever its Content-Type, the URL's id wins
// over a body _id (couch_doc_from_req; express-pouchdb would store the body's), and a body that
// is not an object is 400. Tests: test_embedded_matches_couchdb3.py::test_put_stores_under_the_url_id_whatever_the_body_says
// and ::test_a_document_must_be_an_object.
function readDocPut(req, res, next, encodedId) {
  let id;
  try { id = encodedId.split('/').map(decodeURIComponent).join('/'); } catch (e) { return json(res, 400, { error: 'bad_request', reason: 'invalid URL encoding' }); }
  parseBody(req, res, (doc) => {
    if (!isObject(doc)) return json(res, 400, { error: 'bad_request', reason: 'Document must be a JSON object' });
    if (tooLarge(doc)) return json(res, 413, documentTooLarge(doc)); // named by the body's _id, as CouchDB 3
    doc._id = id;
    next();
  });
}

// POST /db and POST /db/_bulk_docs: the size limit above.
function readDocsPost(req, res, next, isBulk) {
  parseBody(req, res, (body) => {
    const big = !isBulk ? (tooLarge(body) ? body : undefined)
      : isObject(body) && Array.isArray(body.docs) ? body.docs.find(tooLarge) : undefined;
    if (big) return json(res, 413, documentTooLarge(big));
    next();
  });
}

// Document writes and JSON POSTs, checked as CouchDB 3 checks them (steps above).
function checkBodies(req, res, next) {
  const rest = req.couchRest;
  if (!rest) return next();
  if (refusesContentType(req, rest))
    return json(res, 415, { error: 'bad_content_type', reason: 'Content-Type must be application/json' });
  const docId = putDocId(req, rest);
  if (docId !== null) return readDocPut(req, res, next, docId);
  const first = rest[0] || '';
  if (req.method === 'POST' && rest.length <= 1 && (first === '' || first === '_bulk_docs'))
    return readDocsPost(req, res, next, first === '_bulk_docs');
  if (req.method === 'POST' && isViewQuery(rest)) return parseBody(req, res, () => checkViewQuery(req, res, next));
  if (isViewQuery(rest)) return checkViewQuery(req, res, next);
  next();
}

// ---- view and _all_docs parameters ----------------------------------------------------------
// Checked as couch_mrview checks them, before PouchDB takes what CouchDB 3 refuses (a limit of
// 99999999999999999999999, a key that is not JSON). Tests: test_embedded_matches_couchdb3.py::
// test_a_limit_over_couchdb_3s_maximum_is_a_query_parse_error, ::test_view_parameters_are_checked_as_couchdb_3_does
// and ::test_a_reversed_key_range_is_a_query_parse_error_on_a_view.
const isViewQuery = (rest) => (rest.length === 1 && rest[0] === '_all_docs') ||
  (rest.length === 4 && rest[0] === '_design' && rest[2] === '_view');
// couch_mrview's ?MAX_VIEW_LIMIT: a larger limit is refused (couch_mrview_util:apply_limit).
const MAX_VIEW_LIMIT = 576460752303423487n;
const JSON_PARAMS = ['key', 'keys', 'startkey', 'start_key', 'endkey', 'end_key'];

// couch_mrview_http:parse_pos_int, then apply_limit for `limit`; a reason or null.
function integerParamError(name, text) {
  const shown = JSON.stringify(text);
  if (!/^[+-]?\d+$/.test(text)) return `Invalid value for integer: ${shown}`;
  const n = BigInt(text);
  if (n < 0n) return `Invalid value for positive integer: ${shown}`;
  if (name === 'limit' && n > MAX_VIEW_LIMIT) return `Limit is too large, must not exceed ${MAX_VIEW_LIMIT}`;
  return null;
}

// JSON.parse takes 1e999 as Infinity; CouchDB's parser refuses it as invalid JSON.
const finiteJson = (v) => (typeof v === 'number' ? Number.isFinite(v)
  : v && typeof v === 'object' ? Object.values(v).every(finiteJson) : true);

// The reason CouchDB 3 refuses the query's integers (or a POST body's limit) with, or null.
function integersError(req) {
  for (const name of ['limit', 'skip', 'group_level']) {
    const reason = req.query[name] === undefined ? null : integerParamError(name, String(req.query[name]));
    if (reason) return reason;
  }
  const bodyLimit = isObject(req.body) ? req.body.limit : undefined;
  return typeof bodyLimit === 'number' && bodyLimit > Number(MAX_VIEW_LIMIT)
    ? `Limit is too large, must not exceed ${MAX_VIEW_LIMIT}` : null;
}

// The query's keys parsed, or null when one is not JSON that CouchDB 3 reads.
function queryKeys(query) {
  const keys = { descending: query.descending === 'true' };
  for (const name of JSON_PARAMS) {
    if (query[name] === undefined) continue;
    try { keys[name] = JSON.parse(query[name]); } catch (e) { return null; }
    if (!finiteJson(keys[name])) return null;
  }
  return keys;
}

// couch_mrview_util:check_range: a view's start key past its end key (in the query's direction).
function keyRangeError(keys) {
  const start = keys.start_key ?? keys.startkey, end = keys.end_key ?? keys.endkey;
  if (start === undefined || end === undefined) return null;
  const order = collate(start, end);
  const wrongWay = keys.descending ? order < 0 : order > 0;
  return wrongWay ? 'No rows can match your key range, reverse your start_key and end_key or set ' +
    `descending=${!keys.descending}` : null;
}

function checkViewQuery(req, res, next) {
  const integers = integersError(req);
  if (integers) return json(res, 400, queryParseError(integers));
  const keys = queryKeys(req.query);
  if (!keys) return json(res, 400, { error: 'bad_request', reason: 'invalid UTF-8 JSON' });
  const range = req.couchRest[0] === '_design' ? keyRangeError(keys) : null;
  if (range) return json(res, 400, queryParseError(range));
  next();
}

// ---- server ---------------------------------------------------------------------------------
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
// Per-request context, so that an exception thrown while serving a request answers it.
const als = new AsyncLocalStorage();
app.use((req, res, next) => als.run({ req, res }, next));
// CouchDB 3 answers application/json whatever the Accept header; express-pouchdb answers
// text/plain unless Accept names JSON (aiohttp sends */*: tests/integration/test_embedded_views.py
// reads its answers with resp.json(), which needs the JSON type).
app.use((req, res, next) => { req.headers.accept = 'application/json'; next(); });
// Each request's method, path, status and milliseconds on stdout, in CouchDB 3's log format,
// when KAZOO_COUCHDB_REQUEST_LOG=1 (bench/profile_job.py sums them by kind, on both engines).
if (process.env.KAZOO_COUCHDB_REQUEST_LOG === '1') {
  app.use((req, res, next) => {
    const t0 = process.hrtime.bigint(), url = req.url; // as asked, before the database name is mapped
    res.on('finish', () => process.stdout.write(`request ${Date.now()} ${req.method} ${url} ${res.statusCode} ok ` +
      `${(process.hrtime.bigint() - t0) / 1000000n}\n`));
    next();
  });
}
app.get('/_up', (req, res) => json(res, 200, { status: 'ok' }));
// GET / shaped like CouchDB 3's welcome: the service checks for "couchdb" (storage/bootstrap.py
// is_couchdb; every test's setup). The real engine is named in vendor.
app.get('/', (req, res) => json(res, 200, { couchdb: 'Welcome', version: '3.3.3', features: [],
  vendor: { name: `express-pouchdb ${require('express-pouchdb/package.json').version} on PouchDB 7.3.1 (dev stand-in for Apache CouchDB 3)` } }));
app.get('/_all_dbs', (req, res, next) => allDbs(req, res).catch(next));
app.use(mapDbName, checkBodies, pouchApp);
app.use((err, req, res, next) => { // errors passed to next(err): a JSON 500, as CouchDB answers
  console.error('couchdb_server: request error:', err && err.stack || err);
  if (res.headersSent) return res.end();
  json(res, err.status || 500, { error: err.status ? 'bad_request' : 'unknown_error', reason: String(err.message || err) });
});

// An exception thrown while serving a request (a library bug, e.g. express-pouchdb's anonymous
// PUT /db when admins are configured) is logged with its stack and fails that request with 500
// unknown_error, as an Erlang process crash fails one request on CouchDB 3; the other requests go
// on (smoke.sh "anonymous PUT /db"). One outside any request (a client gone mid-write, a
// library's late callback) is logged with its stack and the server goes on serving, as CouchDB 3
// outlives one crashed process: a dev server that exits takes every later test down with it.
function onUncaught(err) {
  console.error('couchdb_server: uncaught error:', err && err.stack || err);
  const ctx = als.getStore();
  if (!ctx) {
    console.error('couchdb_server: the error came from no request; serving on');
    return;
  }
  if (!ctx.res.headersSent) json(ctx.res, 500, { error: 'unknown_error', reason: String(err && err.message || err) });
  else if (!ctx.res.writableEnded) ctx.res.end();
}
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

let server = null;
const stop = () => { // SIGTERM/SIGINT: stop listening, drop open connections, exit 0 (runs removeTemp)
  if (!server) process.exit(0);
  server.close(() => process.exit(0));
  server.closeAllConnections(); // open feeds would otherwise keep it open
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
pouchApp.setPouchDB(PouchDB).then(() => {
  server = app.listen(args.port, args.host, () => {
    console.log(`couchdb ready http://${args.host}:${server.address().port}`);
  });
  server.on('error', (err) => { console.error(`couchdb_server: ${err.message}`); process.exit(1); });
});
