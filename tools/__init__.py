"""Repository tooling, never installed with streamui: benchmarks, the load generator and their
management commands. The demo site lists "tools" in INSTALLED_APPS so `manage.py streamui_bench`,
`streamui_bench_json` and `streamui_load` work from a checkout."""
