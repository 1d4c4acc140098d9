"""The soak: a seeded randomized workload through the whole local runtime, with matcher faults,
then invariant checks against the real stores (``python -m bench.soak``, ``make soak``).

Modules: :mod:`~bench.soak.world` (accounts, keys and handles on the runtime's stores),
:mod:`~bench.soak.workload` (the request loop and what it records), :mod:`~bench.soak.scenarios`
(what each kind of request sequence does), :mod:`~bench.soak.faults` (SIGKILL/SIGSTOP of the
real matcher process), :mod:`~bench.soak.quiesce` (waiting until nothing moves),
:mod:`~bench.soak.snapshot` (reading every store), :mod:`~bench.soak.checks` (the invariants),
:mod:`~bench.soak.summary` and :mod:`~bench.soak.run` (the whole run). See docs/local.md, "Soak".
"""
