"""The all-in-one runner's library (devstack/iotronic-aio).

One IoTronic-C stack in one private state directory on free loopback ports:
PostgreSQL and RabbitMQ (as their own system users), the cloud daemons, the
deviceless service and simulated boards. Modules:

  procs     detached processes: spawn, identity (pid + start time), stop by
            process group, listening ports, leftovers under the state dir
  servers   PostgreSQL and RabbitMQ in private directories
  confs     the configuration files of every daemon and board
  stack     start / status / stop / env of the whole stack (state.json)
  rest      a small JSON-over-HTTP client for both REST APIs
  scenario  the smart-city demo steps, shared by `make demo` and the e2e test

Only the Python 3 standard library is used: the runner must work on a fresh
Debian machine before anything else is installed beyond tools/deps.list.
"""
