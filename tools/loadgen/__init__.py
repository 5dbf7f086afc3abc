"""A load generator: N concurrent chat streams over WebSocket against one Daphne process.

`python manage.py streamui_load --clients 500` (deploy/LOAD.md has the figures). The
parts, so the client process imports neither Django nor the server code:

- `server`: start Daphne on a free loopback port with a temporary SQLite database,
  and read a process's CPU time and resident memory from /proc;
- `client`: the client process (`python -m tools.loadgen.client`), asyncio over
  websockets' sans-I/O protocol; it timestamps every frame as it is read off the socket;
- `report`: what the figures mean and how they are computed, and the table;
- `runner`: a single-stream baseline, then the load run, in one invocation.
"""
