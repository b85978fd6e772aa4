"""What asyncio's ``drain()`` does when the peer stops reading (why the driver bounds its queue).

    uv run python bench/drain_stall.py

A loopback server writes 20 MiB to a client that reads nothing (4 kB receive buffer), then
waits up to 5 s on ``StreamWriter.drain()``. Prints how much the transport still holds before and
after the wait, and whether ``drain`` returned. Plain TCP: TLS adds its own buffer on top.
"""

from __future__ import annotations

import asyncio
import socket
import time


async def measure() -> dict[str, object]:
    done = asyncio.Event()
    result: dict[str, object] = {}

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunk = b"x" * (1 << 20)
        for _ in range(20):
            writer.write(chunk)
        result["queued_bytes_after_writing_20_MiB"] = writer.transport.get_write_buffer_size()
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(writer.drain(), 5)
            result["drain"] = f"returned after {time.monotonic() - t0:.2f} s"
        except TimeoutError:
            result["drain"] = "still waiting after 5 s"
        result["queued_bytes_after_the_wait"] = writer.transport.get_write_buffer_size()
        done.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", port))
    await asyncio.wait_for(done.wait(), 30)
    client.close()
    server.close()
    return result


if __name__ == "__main__":
    print(asyncio.run(measure()))
