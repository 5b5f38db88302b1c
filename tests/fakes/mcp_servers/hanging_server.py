"""A stdio 'MCP server' that never answers the handshake."""

import sys
import time

print("hanging server started", file=sys.stderr, flush=True)
while True:
    time.sleep(3600)
