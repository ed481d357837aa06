#!/usr/bin/env node
// Embedded dev/test stand-in for Apache CouchDB 3: express-pouchdb 4.2.0 on PouchDB 7.3.1, plus
// the fixes for the differences listed in couchdb_server/README.md.
// Usage: node server.js --host 127.0.0.1 --port 5984 (--data-dir DIR | --in-memory)
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { AsyncLocalStorage } = require('async_hooks');
const express = require('express');
const bodyParser = require('body-parser');
const expressPouchDB = require('express-pouchdb');
const utils = require('express-pouchdb/lib/utils'); // its shared JSON responder, patched below

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
  .plugin(require('./mapreduce')) // views: PouchDB's engine, functions compiled once (mapreduce.js)
  .plugin(require('pouchdb-replication'))
  .plugin(require('pouchdb-find'));
// A view query brings its index up to the database as the query finds it (CouchDB), but PouchDB's
// updater reads changes in pages and stops only at a short page: with pages of 50 it chases a
// database being written into until the writes stop (a listing waited out a whole 10,000-number
// job). Pages of 10,000 end the chase after what was there.
const VIEW_PAGE = { view_update_changes_batch_size: 10000 };
PouchDB = PouchDB.defaults(args.inMemory ? { adapter: 'memory', ...VIEW_PAGE }
  : { adapter: 'leveldb', prefix: stateDir + path.sep, ...VIEW_PAGE });

// ---- CouchDB-like JSON responses (fixes 1, 8, 9 and the 404 wording) -------------------------
const json = (res, status, body) => utils.sendJSON(res, status, body);
// express-pouchdb answers text/plain unless Accept names JSON (CouchDB 1.x style); CouchDB 3 ignores Accept.
utils.setJsonOrPlaintext = (res) => res.setHeader('Content-Type', 'application/json');
utils.sendJSON = function (res, status, body) {
  const req = res.req;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    // Document GET: ETag is the quoted rev, as in CouchDB (express would send a weak body hash).
    if ((req.method === 'GET' || req.method === 'HEAD') && status === 200 &&
        typeof body._id === 'string' && typeof body._rev === 'string') {
      res.setHeader('ETag', `"${body._rev}"`);
      body = Object.assign({ _id: body._id, _rev: body._rev }, body); // CouchDB's field order
    }
    // _find: CouchDB always returns a bookmark; ours is base64 of the offset of the next page.
    if (req.findOffset !== undefined && status === 200 && Array.isArray(body.docs))
      body.bookmark = Buffer.from(String(req.findOffset + body.docs.length)).toString('base64');
    // GET /db: show the client's name ("a/b"), not the on-disk one ("a~b").
    if (req.couchDb && typeof body.db_name === 'string') body.db_name = req.couchDb;
    if (body.error === 'not_found' && body.reason === 'no_db_file') body.reason = 'Database does not exist.';
    if (req.originalUrl === '/' && body['express-pouchdb']) body = rootInfo(body);
  }
  res.status(status);
  res.setHeader('Content-Type', 'application/json');
  res.send(Buffer.from(JSON.stringify(body) + '\n'));
};
// PouchDB keeps the specific cause ("deleted", "missing json key: f") in err.reason; CouchDB sends it.
const sendError = utils.sendError;
utils.sendError = function (res, err, baseStatus) {
  if (err && typeof err.reason === 'string' && typeof err.message === 'string') err.message = err.reason;
  return sendError(res, err, baseStatus);
};
// GET / shaped like CouchDB 3's welcome (clients look at "couchdb" and "version"); the real engine
// is named in vendor.
const rootInfo = (b) => ({ couchdb: 'Welcome', version: '3.3.3', uuid: b.uuid, features: [],
  vendor: { name: `express-pouchdb ${b.version} on PouchDB 7.3.1 (dev stand-in for Apache CouchDB 3)` } });

// ---- express-pouchdb ------------------------------------------------------------------------
const pouchApp = expressPouchDB({
  mode: 'fullCouchDB',
  configPath: path.join(stateDir, 'config.json'),
  logPath: path.join(stateDir, 'log.txt'),
  // compression: gzip buffers continuous _changes forever (and CouchDB does not gzip).
  // validation: its bulk-docs wrapper returns _bulk_docs results in random order (so
  // validate_doc_update functions are not enforced).
  overrideMode: { exclude: ['compression', 'validation'] },
});
pouchApp.disable('x-powered-by');
pouchApp.set('etag', false); // no weak body-hash ETags; documents get "<rev>" above
// A changes feed that fails (e.g. unknown filter) re-emits 'error' on an emitter nobody listens
// to, which kills the process. This wrapper runs last, i.e. on the outermost db.changes.
pouchApp.dbWrapper.registerWrapper((name, db, next) => {
  const changes = db.changes;
  db.changes = function () {
    const feed = changes.apply(this, arguments);
    if (feed && typeof feed.on === 'function') feed.on('error', () => {}); // promise still rejects
    return feed;
  };
  return next();
});

// ---- large _bulk_docs in slices -------------------------------------------------------------
// PouchDB runs a _bulk_docs request's per-document reads and their callbacks on the one JS thread
// in one burst, and a request for any other database queues behind all of them: a GET waited for
// most of a 2,000-document bulk (p50 ~350 ms). A larger request is written BULK_SLICE documents at
// a time, one slice after the other with the event loop free in between; the results keep the
// request's order. CouchDB 3's _bulk_docs is not atomic either (each document succeeds or fails
// on its own), so the answer is the same. Env KAZOO_COUCHDB_BULK_SLICE (0: no slicing).
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

// ---- database names (fixes 5, 6) ------------------------------------------------------------
// CouchDB allows "/" in names; express-pouchdb's sanitize-filename strips it ("a/bc" == "ab/c").
// "~" is not a legal name character, so "/" <-> "~" is a reversible on-disk mapping.
const VALID_DB = /^[a-z][a-z0-9_$()+/-]*$/;
const SYSTEM_DBS = new Set(['_users', '_replicator', '_global_changes']);
const toDisk = (n) => n.replace(/\//g, '~');
const fromDisk = (n) => n.replace(/~/g, '/');
const illegal = (name) => ({ error: 'illegal_database_name', reason: `Name: '${name}'. Only lowercase ` +
  'characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, and / are allowed. ' +
  'Must begin with a letter.' });

function mapDbName(req, res, next) {
  const q = req.url.indexOf('?');
  const segs = (q < 0 ? req.url : req.url.slice(0, q)).split('/').slice(1); // still %-encoded
  const dbLevel = segs.length === 1 || (segs.length === 2 && segs[1] === '');
  if (!segs[0] || (segs[0][0] === '_' && !SYSTEM_DBS.has(segs[0]) && !(req.method === 'PUT' && dbLevel)))
    return next(); // server-level endpoint (/_all_dbs, /_session, ...)
  let name;
  try { name = decodeURIComponent(segs[0]); } catch (e) { return json(res, 400, { error: 'bad_request', reason: 'invalid URL encoding' }); }
  if (!SYSTEM_DBS.has(name) && !(VALID_DB.test(name) && name.length <= 238)) {
    return req.method === 'PUT' && dbLevel ? json(res, 400, illegal(name))
      : json(res, 404, { error: 'not_found', reason: 'Database does not exist.' });
  }
  req.couchDb = name;
  req.couchRest = segs.slice(1);
  const disk = encodeURIComponent(toDisk(name));
  // originalUrl too: express-pouchdb's vhost part resets req.url from it.
  req.url = req.originalUrl = '/' + [disk, ...req.couchRest].join('/') + (q < 0 ? '' : req.url.slice(q));
  const location = res.location; // Location headers name the db as the client does
  res.location = function (url) { return location.call(this, String(url).replace('/' + toDisk(name), '/' + encodeURIComponent(name))); };
  next();
}

// GET /_all_dbs with the "/" restored, sorted, minus PouchDB internals, with CouchDB's paging options.
async function allDbs(req, res) {
  const q = {};
  for (const k of ['startkey', 'start_key', 'endkey', 'end_key', 'limit', 'skip', 'descending', 'inclusive_end']) {
    if (req.query[k] !== undefined) { try { q[k] = JSON.parse(req.query[k]); } catch (e) { return json(res, 400, { error: 'query_parse_error', reason: `Invalid value for ${k}` }); } }
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

// ---- request bodies (fixes 4, 9, 10, 13) ----------------------------------------------------
const parseAny = bodyParser.json({ limit: '4gb', strict: false, type: () => true });
const isJsonType = (req) => (req.headers['content-type'] || '').split(';')[0] === 'application/json';

function parseBody(req, res, then) {
  parseAny(req, res, (err) => {
    if (!err) return then(req.body);
    if (err.status === 413) return json(res, 413, { error: 'too_large', reason: 'the request entity is too large' });
    json(res, err.status || 400, { error: 'bad_request', reason: err.status === 400 ? 'invalid_json' : err.message });
  });
}

// CouchDB 3's [couchdb] max_document_size default: a document whose JSON exceeds it is refused
// (couch_doc:from_json_obj_validate) with 413 document_too_large, reason = the doc id; in
// _bulk_docs one such document fails the whole request the same way.
const MAX_DOCUMENT_SIZE = 8000000;
const tooLarge = (doc) => doc && typeof doc === 'object' && Buffer.byteLength(JSON.stringify(doc)) > MAX_DOCUMENT_SIZE;
const refuseLarge = (res, doc) => json(res, 413, { error: 'document_too_large', reason: String(doc._id || '') });

function fixBodies(req, res, next) {
  const rest = req.couchRest;
  if (!rest) return next();
  const first = rest[0] || '';
  const ct = req.headers['content-type'] || '';
  // CouchDB 3 rejects JSON POSTs (create doc, _bulk_docs, _all_docs, _find, _changes, views, ...)
  // whose Content-Type is not application/json with 415; express-pouchdb would silently see {}.
  if (req.method === 'POST' && (first === '' || (first[0] === '_' && first !== '_design' && first !== '_view_cleanup') ||
      (first === '_design' && rest[2] === '_view')) && !isJsonType(req)) {
    return json(res, 415, { error: 'bad_content_type', reason: 'Content-Type must be application/json' });
  }
  // PUT of a document (or _security/_revs_limit): JSON whatever the Content-Type, like CouchDB.
  const docPut = req.method === 'PUT' && !/^multipart\//.test(ct) &&
    ((rest.length === 1 && first) || (rest.length === 2 && (first === '_design' || first === '_local')));
  if (docPut) {
    let id;
    try { id = rest.map(decodeURIComponent).join('/'); } catch (e) { return json(res, 400, { error: 'bad_request', reason: 'invalid URL encoding' }); }
    return parseBody(req, res, (body) => {
      if (id[0] === '_' && !/^_(design|local)\//.test(id)) return next(); // _security, _revs_limit
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return json(res, 400, { error: 'bad_request', reason: 'Document must be a JSON object' });
      body._id = id; // the URL id wins over a body _id (couch_doc_from_req)
      if (tooLarge(body)) return refuseLarge(res, body);
      next();
    });
  }
  if (req.method === 'POST' && first === '') { // POST /db: CouchDB's ids are 32 hex chars
    return parseBody(req, res, (body) => {
      if (body && typeof body === 'object' && !Array.isArray(body) && !body._id) body._id = crypto.randomBytes(16).toString('hex');
      if (tooLarge(body)) return refuseLarge(res, body);
      next();
    });
  }
  if (req.method === 'POST' && first === '_bulk_docs' && rest.length === 1) {
    return parseBody(req, res, (body) => {
      const big = body && Array.isArray(body.docs) ? body.docs.find(tooLarge) : undefined;
      if (big) return refuseLarge(res, big);
      next();
    });
  }
  if (req.method === 'POST' && first === '_find' && rest.length === 1) {
    return parseBody(req, res, (body) => {
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return json(res, 400, { error: 'bad_request', reason: 'Request body must be a JSON object' });
      for (const k of ['skip', 'limit']) {
        if (body[k] !== undefined && !(Number.isInteger(body[k]) && body[k] >= 0))
          return json(res, 400, { error: 'invalid_argument', reason: `Invalid value for ${k}: ${JSON.stringify(body[k])}` });
      }
      let offset = 0;
      if (body.bookmark !== undefined && body.bookmark !== 'nil') {
        const text = Buffer.from(String(body.bookmark), 'base64').toString();
        offset = Number(text);
        if (!/^\d+$/.test(text) || Buffer.from(text).toString('base64') !== body.bookmark)
          return json(res, 400, { error: 'invalid_bookmark', reason: `Invalid bookmark value: ${JSON.stringify(body.bookmark)}` });
      }
      delete body.bookmark;
      body.skip = offset + (body.skip || 0);
      if (body.limit === undefined) body.limit = 25; // CouchDB's default page size
      req.findOffset = body.skip;
      next();
    });
  }
  // _changes?filter=_selector: PouchDB supports it via the "selector" option, which express-pouchdb
  // never passes on. filter=_design (design docs only) is emulated with a selector too.
  if (first === '_changes' && (req.query.filter === '_selector' || req.query.filter === '_design')) {
    if (req.query.filter === '_design') {
      req.query.filter = '_selector';
      req.query.selector = { _id: { $regex: '^_design/' } };
      return next();
    }
    if (req.method !== 'POST')
      return json(res, 400, { error: 'bad_request', reason: 'Selector must be specified in POST payload' });
    return parseBody(req, res, (body) => {
      if (!body || typeof body.selector !== 'object' || body.selector === null || Array.isArray(body.selector))
        return json(res, 400, { error: 'bad_request', reason: 'Selector must be specified in POST payload' });
      req.query.selector = body.selector;
      next();
    });
  }
  next();
}

// ---- server ---------------------------------------------------------------------------------
// Per-request context, so that an error thrown anywhere below can still be answered.
const als = new AsyncLocalStorage();
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use((req, res, next) => als.run({ req, res }, next));
app.get('/_up', (req, res) => json(res, 200, { status: 'ok' }));
app.get('/_all_dbs', (req, res, next) => allDbs(req, res).catch(next));
app.use(mapDbName, fixBodies, pouchApp);
app.use((err, req, res, next) => { // errors passed to next(err) anywhere: 500 JSON, like CouchDB
  console.error('couchdb_server: request error:', err && err.stack || err);
  if (res.headersSent) return res.end();
  json(res, err.status || 500, { error: err.status ? 'bad_request' : 'unknown_error', reason: String(err.message || err) });
});

// No request may kill the shared server: answer the request that failed (if any) and go on.
function onUncaught(err) {
  console.error('couchdb_server: uncaught error:', err && err.stack || err);
  const ctx = als.getStore();
  if (!ctx) return;
  if (!ctx.res.headersSent) json(ctx.res, 500, { error: 'unknown_error', reason: String(err && err.message || err) });
  else if (!ctx.res.writableEnded) ctx.res.end();
}
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

let server = null;
const stop = () => { // SIGTERM/SIGINT: stop listening, drop open connections, exit 0 (runs removeTemp)
  if (!server) process.exit(0);
  server.close(() => process.exit(0));
  server.closeAllConnections(); // continuous _changes feeds would otherwise keep it open
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
