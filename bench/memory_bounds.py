"""The issue 19 memory attacks against a served mock on loopback: its RSS (VmRSS of /proc/<pid>/status) before and
after each. Run: `.venv/bin/python bench/memory_bounds.py` (PYTHONPATH picks the code under test). Not a test:
the figures go in reports; tests/mockserver/test_memory_bounds.py asserts the bounds themselves."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import sys
import time

import httpx

MIB = 1024 * 1024


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "runapi_mock", "serve", "--port", str(port), "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        auth = {"Authorization": "Bearer mem-key"}
        with httpx.Client(base_url=base, timeout=120, trust_env=False) as client:
            start = rss_mb(server.pid)
            print(f"start: {start:.0f} MB")
            # 16 direct uploads of 30 MiB (the default --max-upload-bytes), half never confirmed.
            data = b"\x00" * (30 * MIB - 1)
            checksum = base64.b64encode(hashlib.md5(data).digest()).decode()
            statuses = []
            for index in range(16):
                prepared = client.post("/api/v1/files/prepare", headers=auth, json={
                    "filename": f"f{index}.bin", "byte_size": len(data), "checksum": checksum,
                    "content_type": "application/octet-stream"}).json()
                put = client.put(prepared["upload_url"], content=data,
                                 headers={"Content-Type": "application/octet-stream", "Content-MD5": checksum})
                statuses.append(put.status_code)
                if index % 2 == 0 and put.status_code == 204:
                    statuses.append(client.post("/api/v1/files/confirm", headers=auth,
                                                json={"signed_id": prepared["signed_id"]}).status_code)
            after_uploads = rss_mb(server.pid)
            print(f"16 x 30 MiB direct uploads, half unconfirmed: {after_uploads - start:+.0f} MB "
                  f"(answers {sorted(set(statuses))})")
            more = {client.post("/api/v1/files", headers=auth, json={"source": {
                "type": "base64", "data": base64.b64encode(data).decode()}}).status_code for _ in range(4)}
            print(f"4 more 30 MiB uploads: {rss_mb(server.pid) - after_uploads:+.0f} MB (answers {sorted(more)})")
            client.post("/_mock/clock/advance", json={"seconds": 3601})
            client.post("/api/v1/files", headers=auth, json={"source": {"type": "base64", "data": "aGk="}})
            after_expiry = rss_mb(server.pid)
            print(f"an hour on the clock, then one small upload: {after_expiry - start:+.0f} MB over the start")
            after_uploads = after_expiry
            # 400 rejected creates with 1 MB bodies, in 400 namespaces' journals... one namespace here.
            body = b'{"model": "flux-kontext-pro", "prompt": "' + b"x" * (MIB - 100) + b'", "bad": 1}'
            for _ in range(400):
                client.post("/api/v1/flux_kontext/text_to_image", content=body,
                            headers={**auth, "Content-Type": "application/json"})
            after_journal = rss_mb(server.pid)
            print(f"400 rejected 1 MB creates: {after_journal - after_uploads:+.0f} MB")
            # 300 distinct 1 MB API keys.
            key_statuses = set()
            for index in range(300):
                key = f"{index:04d}" + "k" * MIB
                key_statuses.add(client.get("/api/v1/me/balance",
                                            headers={"Authorization": f"Bearer {key}"}).status_code)
            after_keys = rss_mb(server.pid)
            balance = client.get("/_mock/balance")
            print(f"300 distinct 1 MB keys: {after_keys - after_journal:+.0f} MB (answers {sorted(key_statuses)}); "
                  f"GET /_mock/balance is {len(balance.content)} bytes")
            print(f"total: {after_keys - start:+.0f} MB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
