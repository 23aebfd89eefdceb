"""The security boundaries that decide what runs without asking and what reaches a screen or a file.

- read_only.py: which commands provably only read (`classify`), so they run without asking under
  `untrusted` and `on-request`; read_only_programs.py holds the allow-list and each program's
  argument check, read_only_git.py git's subcommands and the environment that stops git config
  from starting programs, program_options.py the strict getopt both use;
- redact.py: the configured secrets replaced with `[redacted]` in everything written or sent;
- visible.py: control and invisible characters made visible before untrusted text is drawn.

README's "Security model" says what each defends against; tests/security attacks them. The package
imports nothing itself, so importing one of its modules costs only that module.
"""
