#!/usr/bin/env bash
# Smoke test of the embedded CouchDB (server.js): the CouchDB-3 behaviours it keeps that the suite does not
# reach (tests/integration/test_embedded_matches_couchdb3.py checks the others on both engines).
# Starts its own servers (in memory, then on a LevelDB data dir to check a restart), stops them by pid.
# Needs node, curl and `npm ci` done in this folder. Prints "N passed, N failed"; exit 0 iff all pass.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
PASS=0; FAIL=0; PID=""; B=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

ok()   { PASS=$((PASS + 1)); }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION JS-EXPRESSION: evaluated with s (status), h (headers, lower-case keys), b (parsed body)
check() {
  if node -e '
    const fs = require("fs"), s = Number(fs.readFileSync(process.argv[2] + "/code", "utf8"));
    const raw = fs.readFileSync(process.argv[2] + "/body", "utf8"), h = {};
    for (const l of fs.readFileSync(process.argv[2] + "/head", "utf8").split(/\r?\n/)) {
      const i = l.indexOf(":"); if (i > 0) h[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
    let b; try { b = JSON.parse(raw); } catch (e) { b = raw; }
    process.exit(eval(process.argv[1]) ? 0 : 1);' "$2" "$WORK"; then ok; else
    bad "$1 :: $2 :: got $(cat "$WORK/code") $(head -c 400 "$WORK/body")"; fi
}
# req METHOD PATH [curl args...]: the response goes to $WORK/{code,head,body}
req() {
  local m="$1" p="$2"; shift 2
  local how=(-X "$m"); [ "$m" = HEAD ] && how=(-I)
  curl -s "${how[@]}" -o "$WORK/body" -D "$WORK/head" -w '%{http_code}' "$@" "$B$p" > "$WORK/code" # (a --max-time cut still writes the status)
  [ -s "$WORK/code" ] || echo 000 > "$WORK/code"
}
J=(-H 'Content-Type: application/json')
alive() { if kill -0 "$PID" 2>/dev/null && curl -fs "$B/_up" >/dev/null; then ok; else bad "server died after: $1"; fi; }

start() { # start ARGS...: start server.js, wait for its ready line, set PID and B
  # emptied here, not by the child's redirect: that may come after the first read below, which
  # would then take the previous server's address (and signal the new one before it is ready)
  : > "$WORK/out"; B=""
  node "$HERE/server.js" --host 127.0.0.1 --port 0 "$@" > "$WORK/out" 2> "$WORK/err" &
  PID=$!
  for _ in $(seq 1 150); do
    B="$(sed -n 's/^couchdb ready //p' "$WORK/out")"; [ -n "$B" ] && return 0
    kill -0 "$PID" 2>/dev/null || break; sleep 0.1
  done
  echo "server did not start:"; cat "$WORK/err"; exit 1
}
stop() { # stop: SIGTERM, expect exit status 0
  kill -TERM "$PID"; wait "$PID"; local rc=$?; PID=""
  if [ "$rc" = 0 ]; then ok; else bad "exit status $rc after SIGTERM"; fi
}

mkdir "$WORK/cwd" && cd "$WORK/cwd" # the server must not write into its cwd: checked at the end
start --in-memory

echo "== (7) /_up, GET /, (1) JSON content type whatever Accept, (2) no gzip"
req GET /_up;  check "_up" 's === 200 && b.status === "ok"'
req GET / -H 'Accept: text/html' -H 'Accept-Encoding: gzip'
check "root" 's === 200 && h["content-type"] === "application/json" && /^3\./.test(b.version) && !h["content-encoding"]'
req GET /_all_dbs -H 'Accept: */*'; check "all_dbs json" 'h["content-type"] === "application/json" && Array.isArray(b)'

echo "== PUT/HEAD/DELETE db"
req PUT /smoke;  check "create db" 's === 201 && b.ok === true'
req PUT /smoke;  check "create twice" 's === 412 && b.error === "file_exists"'
req HEAD /smoke; check "head db" 's === 200'
req HEAD /nope;  check "head missing db" 's === 404'
req GET /nope;   check "missing db" 's === 404 && b.error === "not_found"'
req PUT /gone;   req DELETE /gone; check "delete db" 's === 200 && b.ok === true'
req GET /gone;   check "deleted db" 's === 404'

echo "== (5) db names with /"
A=account/ab/cd/ef0123456789abcdef0123456789abcd
for n in "$A" "$A-202611" numbers/+1222 a/bc ab/c; do
  e=$(node -p 'encodeURIComponent(process.argv[1])' "$n")
  req PUT "/$e" "${J[@]}"; check "create $n" 's === 201'
done
req PUT "/$(node -p 'encodeURIComponent("a/bc")')"; check "no collision a/bc vs ab/c" 's === 412'
req GET /_all_dbs
check "all_dbs names" '["'"$A"'", "'"$A-202611"'", "numbers/+1222", "a/bc", "ab/c"].every(n => b.includes(n)) && !b.some(n => n.includes("~"))'
req GET '/_all_dbs?startkey="account/"&endkey="account/\ufff0"'
check "all_dbs range" 'b.length === 2 && b[0] === "'"$A"'"'
ENC=$(node -p 'encodeURIComponent(process.argv[1])' "$A")
req PUT "/$ENC/doc1" "${J[@]}" -d '{"v":1}'; check "doc in slash db" 's === 201'
req GET "/$ENC/doc1"; check "  read back" 's === 200 && b.v === 1'

echo "== (6) invalid db names"
for n in UpperCase _private 1starts-with-digit 'has%20space' 'a~b'; do
  req PUT "/$n"; check "illegal $n" 's === 400 && b.error === "illegal_database_name" && typeof b.reason === "string"'
done

echo "== documents, (4) URL id wins"
req PUT /smoke/doc1 "${J[@]}" -d '{"_id":"other","v":1}'; check "put doc" 's === 201 && b.id === "doc1"'
R1=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).rev' "$WORK/body")
req GET /smoke/other; check "body _id ignored" 's === 404'
req GET /smoke/doc1; check "get doc" 's === 200 && b._id === "doc1" && b.v === 1 && h["content-type"] === "application/json"'
req PUT /smoke/doc1 "${J[@]}" -d '{"v":2}'; check "stale put" 's === 409 && b.error === "conflict"'
req PUT /smoke/_design/reports "${J[@]}" -d '{"_id":"reports","views":{"by_v":{"map":"function(doc){ if (doc.n !== undefined) emit(doc.n, doc.n); }","reduce":"_sum"}}}'
check "put ddoc with body _id" 's === 201 && b.id === "_design/reports"'
req GET /smoke/_design/reports; check "ddoc stored as ddoc" 's === 200 && b._id === "_design/reports"'
req GET /smoke/reports; check "not as plain doc" 's === 404'
req GET /smoke/missing; check "missing doc" 's === 404 && b.error === "not_found" && b.reason === "missing"'
req PUT /smoke/del "${J[@]}" -d '{"v":9}'
R=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).rev' "$WORK/body")
req DELETE "/smoke/del?rev=$R"; check "delete doc" 's === 200 && b.ok === true'
req GET /smoke/del; check "deleted doc" 's === 404 && b.error === "not_found"'
req PUT /smoke/_local/cfg "${J[@]}" -d '{"_id":"zzz","v":8}'; check "put _local doc" 's === 201 && b.id === "_local/cfg"'
req GET /smoke/_local/cfg; check "get _local doc" 's === 200 && b.v === 8'

echo "== (13) JSON body without a JSON Content-Type"
req PUT /smoke/noct -d '{"v":4}'; check "put, form ctype" 's === 201'
req GET /smoke/noct; check "  stored" 'b.v === 4'
req PUT /smoke/textct -H 'Content-Type: text/plain' -d '{"v":5}'; check "put, text/plain" 's === 201'
req GET /smoke/textct; check "  stored" 'b.v === 5'
req PUT /smoke/nohdr -H 'Content-Type:' --data-binary '{"v":6}'; check "put, no ctype" 's === 201'
req GET /smoke/nohdr; check "  stored" 'b.v === 6'
# CouchDB 3 (chttpd_db validate_ctype) refuses these; express-pouchdb would silently read {}.
req POST /smoke/_bulk_docs -H 'Content-Type:' --data-binary '{"docs":[{"_id":"x"}]}'
check "bulk_docs without ctype: 415 like CouchDB" 's === 415 && b.error === "bad_content_type"'
req POST /smoke/_all_docs -d '{"keys":["doc1"]}'; check "all_docs form ctype: 415" 's === 415'

echo "== (3) _bulk_docs: order, per-doc conflict"
node -e 'const d=[]; for (let i=0;i<2000;i++) d.push({_id:"b"+String(i*7919%2000).padStart(5,"0"), n:i}); console.log(JSON.stringify({docs:d}))' > "$WORK/docs.json"
req POST /smoke/_bulk_docs "${J[@]}" --data-binary @"$WORK/docs.json"
check "2000 results in request order" 's === 201 && b.length === 2000 && b.every((r, i) => r.id === "b" + String(i*7919%2000).padStart(5,"0") && r.ok)'
req POST /smoke/_bulk_docs "${J[@]}" -d '{"docs":[{"_id":"new1"},{"_id":"doc1","v":7},{"_id":"new2"}]}'
check "per-doc conflict" 's === 201 && b[0].id === "new1" && b[0].ok && b[1].id === "doc1" && b[1].error === "conflict" && typeof b[1].reason === "string" && b[2].id === "new2"'

# a request over KAZOO_COUCHDB_BULK_SLICE (100) documents is written in slices: same answer
node -e 'const d=[]; for (let i=0;i<250;i++) d.push({_id: i===150 ? "doc1" : (i===30||i===230) ? "sdup" : "s"+i}); console.log(JSON.stringify({docs:d}))' > "$WORK/slices.json"
req POST /smoke/_bulk_docs "${J[@]}" --data-binary @"$WORK/slices.json"
check "sliced bulk: order, conflict, duplicate id across slices" 's === 201 && b.length === 250 && b[150].id === "doc1" && b[150].error === "conflict" && b[30].ok && b[230].id === "sdup" && b[230].error === "conflict" && b.filter((r) => r.ok).length === 248 && b[249].id === "s249"'
req POST /smoke/_all_docs "${J[@]}" -d '{"keys":["s0","s149","s249"]}'
check "sliced bulk: every slice stored" 's === 200 && b.rows.every((r) => r.value && r.value.rev)'

echo "== _all_docs"
req POST /smoke/_all_docs "${J[@]}" -d '{"keys":["doc1","nope","del"]}'
check "keys: found/missing/deleted" 's === 200 && b.rows.length === 3 && b.rows[0].id === "doc1" && b.rows[1].error === "not_found" && b.rows[1].key === "nope" && b.rows[2].value.deleted === true'
req GET '/smoke/_all_docs?keys=%5B%22doc1%22%2C%22nope%22%5D&include_docs=true'
check "GET keys" 's === 200 && b.rows[0].doc.v === 1 && b.rows[1].error === "not_found"'

echo "== views"
V=/smoke/_design/reports/_view/by_v
req GET "$V?reduce=false&startkey=10&endkey=19"; check "range" 's === 200 && b.rows.length === 10 && b.rows[0].key === 10 && b.total_rows === 2000'
req GET "$V?reduce=false&startkey=19&endkey=10&descending=true&limit=3&include_docs=true"
check "descending+limit+include_docs" 'b.rows.length === 3 && b.rows[0].key === 19 && b.rows[2].key === 17 && b.rows[0].doc.n === 19'
req GET "$V?reduce=false&keys=%5B3%2C5%2C99999%5D"; check "GET keys" 'b.rows.length === 2 && b.rows[1].key === 5'
req POST "$V?reduce=false" "${J[@]}" -d '{"keys":[4,6]}'; check "POST keys" 's === 200 && b.rows.map(r => r.key).join() === "4,6"'
req POST "$V?group=true" "${J[@]}" -d '{"keys":[4,6]}'; check "POST keys grouped" 's === 200 && b.rows[0].value === 4 && b.rows[1].value === 6'
req GET "$V"; check "reduce" 's === 200 && b.rows[0].value === 1999000'

echo "== attachments"
req PUT "/smoke/doc1/note.txt?rev=$R1" -H 'Content-Type: text/plain' --data-binary 'hello attachment'
check "put attachment" 's === 201 && b.ok === true'
req GET /smoke/doc1/note.txt; check "get attachment" 's === 200 && b === "hello attachment" && /^text\/plain/.test(h["content-type"])'

echo "== bad input answers, the server goes on"
req PUT /smoke/badjson "${J[@]}" -d '{"v":'; check "invalid json -> 400" 's === 400 && b.error === "bad_request"'; alive "invalid json"
req GET '/smoke/_all_docs?startkey=%5B'; check "bad startkey -> 400" 's === 400 && b.error === "bad_request"'; alive "bad startkey"
stop

echo "== LevelDB data dir survives a restart"
DATA="$WORK/data"
start --data-dir "$DATA"
req PUT "/$ENC" ; req PUT "/$ENC/keep" "${J[@]}" -d '{"v":42}'; check "leveldb write" 's === 201'
req PUT "/$ENC/_design/d" "${J[@]}" -d '{"views":{"v":{"map":"function(doc){ emit(doc.v, null); }"}}}'
req GET "/$ENC/_design/d/_view/v"; check "leveldb view" 's === 200 && b.rows[0].key === 42'
stop
start --data-dir "$DATA"
req GET "/$ENC/keep"; check "doc after restart" 's === 200 && b.v === 42'
req GET "/$ENC/_design/d/_view/v"; check "view after restart" 's === 200 && b.rows[0].key === 42'
req GET /_all_dbs; check "name after restart" 'b.includes("'"$A"'")'
stop
echo "== no request kills the server: admins configured, anonymous PUT /db (crashed stock express-pouchdb)"
echo '{"admins":{"admin":"s3cret"}}' > "$DATA/config.json"
start --data-dir "$DATA"
# express-pouchdb throws outside its promise chain here: the request gets 500 unknown_error, the server goes on
req PUT /anon; check "anonymous create db -> JSON 500" 's === 500 && b.error === "unknown_error"'; alive "anonymous PUT /db"
grep -q "couchdb_server: uncaught error:" "$WORK/err" && ok || bad "the uncaught error was not logged"
req PUT /byadmin -u admin:s3cret; check "admin create db" 's === 201'
req GET /_session -u admin:wrong; check "wrong password" 's === 401'
stop
grep -q -- '-pbkdf2-' "$DATA/config.json" && ok || bad "config.json in the data dir not used"
[ -f "$DATA/log.txt" ] && ok || bad "log.txt not in the data dir"
[ -d "$DATA/${A//\//\~}" ] && ok || bad "db dir not stored as ${A//\//\~}"
[ -z "$(ls -A "$WORK/cwd")" ] && ok || bad "files written into the cwd: $(ls -A "$WORK/cwd")"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
