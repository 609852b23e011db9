"""moto in server mode on a free loopback port, for the tests (tests/src/moto.rs).

Prints the port it bound, then serves until its standard input closes, which happens when
the test process that started it exits, however it exits. It then ends at once, as an outage
would (a graceful shutdown can wait on idle keep-alive connections for seconds).
"""

import os
import sys

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)
