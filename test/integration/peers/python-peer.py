"""An independent WebSocket peer for the interop tests, on Python's `websockets` (Debian's
python3-websockets 10.4). It is deliberately not the reference server: it speaks the way
ordinary servers do, so the tests see what a user meets outside this repository.

Listens on 127.0.0.1 on a free port and prints `listening <port>` once it accepts. One
behaviour per path:

  /echo               sends every frame back unchanged, text or binary (the seeds' echo)
  /kind               a JSON format without `type`: {"kind": ..., "payload": ..., "ref": ...}
  /rpc                the envelope as a pydantic model writes it: responses carry `re` but
                      no `type`, and optional fields are `null`
  /close/<code>       echoes, but closes with <code> once the first frame arrives
  /auth?access_token= closes with 4001 at once for a token starting with `stale`, else echoes
"""

import asyncio
import json
import sys
from urllib.parse import parse_qs, urlsplit

import websockets


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def kind_format(ws):
    await ws.send(json.dumps({"kind": "welcome", "payload": {"server": "python"}}))
    async for message in ws:
        frame = json.loads(message)
        kind, payload = frame.get("kind"), frame.get("payload")
        if kind == "greet":
            reply = {"kind": "greeting", "payload": {"text": "hello " + payload["name"]}}
        elif kind == "add":
            reply = {"kind": "sum", "payload": payload["a"] + payload["b"], "inReplyTo": frame["ref"]}
        else:
            # Not an error for this format: a peer may push kinds the client never asked for.
            reply = {"kind": "unknown-kind", "payload": kind}
        await ws.send(json.dumps(reply))


def model(**fields):
    """What `Envelope(...).model_dump()` gives: every optional field present, unset ones null."""
    envelope = {"type": None, "id": None, "re": None, "data": None, "error": None}
    envelope.update(fields)
    return envelope


async def rpc(ws):
    async for message in ws:
        request = json.loads(message)
        kind, request_id, data = request.get("type"), request.get("id"), request.get("data")
        if kind == "lookup":
            # The minimal response PROTOCOL.md §2 allows: `re` is the MUST, `type` only a SHOULD.
            reply = {"re": request_id, "data": {"name": data["user"].title(), "nickname": None}}
        elif kind == "lookup-model":
            reply = model(re=request_id, data={"name": data["user"].title(), "nickname": None})
        elif kind == "missing":
            reply = model(re=request_id, error={"code": "NOT_FOUND", "message": "no such user"})
        elif kind == "subscribe":
            reply = model(type="tick", data={"n": 1, "note": None})
        else:
            continue
        await ws.send(json.dumps(reply))


async def close_after_first_frame(ws, code):
    async for _ in ws:
        await ws.close(code, "closed by the python peer")
        return


async def auth(ws):
    token = parse_qs(urlsplit(ws.path).query).get("access_token", [""])[0]
    if token.startswith("stale"):
        await ws.close(4001, "token expired")
        return
    await echo(ws)


async def route(ws):
    path = urlsplit(ws.path).path
    if path == "/echo":
        await echo(ws)
    elif path == "/kind":
        await kind_format(ws)
    elif path == "/rpc":
        await rpc(ws)
    elif path.startswith("/close/"):
        await close_after_first_frame(ws, int(path[len("/close/"):]))
    elif path == "/auth":
        await auth(ws)
    else:
        await ws.close(1008, "unknown path " + path)


async def main():
    async with websockets.serve(route, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
