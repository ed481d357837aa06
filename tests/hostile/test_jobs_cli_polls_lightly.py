"""Issue 23 item 4: `kazoo-crossbar jobs add` follows its jobs through the jobs listing (small rows
with counts) and reads a job whole only once it is done. It used to read every pending job whole
at every poll, and the server parsed and sent a running job's growing document each time: the
largest part of the service's CPU during an import (py-spy, 29% of its samples)."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from ..fake_api import ACCOUNT, JOB, jobs_add

OTHER = "202612-" + "c" * 16


async def test_jobs_add_reads_each_job_whole_once_and_follows_the_listing(tmp_path):
    listed = {"n": 0}
    read: dict[str, int] = {JOB: 0, OTHER: 0}
    ids = iter([JOB, OTHER])

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"id": next(ids)}}, status=201)

    async def listing(request: web.Request) -> web.Response:
        listed["n"] += 1
        first = "complete" if listed["n"] > 2 else "running"
        second = "complete" if listed["n"] > 4 else "pending"
        rows = [
            {"id": JOB, "status": first, "successes": min(listed["n"], 2), "failures": 0},
            {"id": OTHER, "status": second, "successes": 0, "failures": 0},
        ]
        return web.json_response({"status": "success", "data": rows})

    async def job(request: web.Request) -> web.Response:
        job_id = request.match_info["job"]
        read[job_id] += 1
        data = {"id": job_id, "status": "complete", "errors": {}, "successes": {"+1646555010" + job_id[-1]: {}}}
        return web.json_response({"status": "success", "data": data})

    routes = {
        ("PUT", f"/v2/accounts/{ACCOUNT}/resources/jobs"): create,
        ("GET", f"/v2/accounts/{ACCOUNT}/resources/jobs"): listing,
        ("GET", f"/v2/accounts/{ACCOUNT}/resources/jobs/{{job}}"): job,
    }
    code, out, err = await jobs_add(routes, tmp_path, "--chunk", "1", "--poll", "0.05")
    assert code == 0, err
    assert json.loads(out)["added"] == 2
    assert listed["n"] >= 5  # followed through the listing until both were done
    assert read == {JOB: 1, OTHER: 1}  # each read whole once, when its row said it was done


async def empty_listing(request: web.Request) -> web.Response:
    return web.json_response({"status": "success", "data": []})


async def refused_listing(request: web.Request) -> web.Response:
    body = {"status": "error", "error": "404", "message": "bad_identifier", "data": {}}
    return web.json_response(body, status=404)


@pytest.mark.parametrize("listing", [empty_listing, refused_listing], ids=["not listed", "listing refused"])
async def test_a_job_the_listing_does_not_show_is_read_whole(tmp_path, listing):
    read = {"n": 0}

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"id": JOB}}, status=201)

    async def job(request: web.Request) -> web.Response:
        read["n"] += 1
        status = "complete" if read["n"] > 1 else "running"
        data = {"id": JOB, "status": status, "errors": {}, "successes": {"+16465550100": {}, "+16465550101": {}}}
        return web.json_response({"status": "success", "data": data})

    routes = {
        ("PUT", f"/v2/accounts/{ACCOUNT}/resources/jobs"): create,
        ("GET", f"/v2/accounts/{ACCOUNT}/resources/jobs"): listing,
        ("GET", f"/v2/accounts/{ACCOUNT}/resources/jobs/{JOB}"): job,
    }
    code, out, err = await jobs_add(routes, tmp_path, "--poll", "0.05")
    assert code == 0, err
    assert json.loads(out)["added"] == 2 and read["n"] == 2  # read whole at each poll until done
