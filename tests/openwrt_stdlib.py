"""How OpenWrt splits Python's standard library into packages (lang/python/python3 in the
openwrt/packages feed: python3-package-*.mk and python3-find-stdlib-depends.sh).

python3-light is most of the standard library; the modules below live in their own python3-*
packages. Shared by tests/test_imports_openwrt.py (DEPENDS must match what we import) and
tests/emulated.py (the mipsel root is trimmed to python3-light plus DEPENDS).
"""

# OpenWrt package -> top-level modules it moves out of python3-light.
SPLIT_PACKAGES: dict[str, tuple[str, ...]] = {
    "python3-asyncio": ("asyncio",),
    "python3-cgi": ("cgi",),
    "python3-cgitb": ("cgitb",),
    "python3-codecs": ("unicodedata", "_codecs_cn", "_codecs_hk", "_codecs_iso2022", "_codecs_jp",
                       "_codecs_kr", "_codecs_tw"),
    "python3-ctypes": ("ctypes", "_ctypes"),
    "python3-dbm": ("dbm", "_dbm", "_gdbm"),
    "python3-decimal": ("decimal", "_decimal"),
    "python3-distutils": ("distutils",),
    "python3-email": ("email",),
    "python3-lib2to3": ("lib2to3",),
    "python3-logging": ("logging",),
    "python3-lzma": ("lzma", "_lzma"),
    "python3-multiprocessing": ("multiprocessing", "_multiprocessing"),
    "python3-ncurses": ("curses", "_curses", "_curses_panel"),
    "python3-openssl": ("ssl", "_ssl", "_hashlib"),
    "python3-pydoc": ("pydoc", "doctest", "pydoc_data"),
    "python3-readline": ("readline",),
    "python3-sqlite3": ("sqlite3", "_sqlite3"),
    "python3-unittest": ("unittest",),
    "python3-urllib": ("urllib",),
    "python3-uuid": ("uuid", "_uuid"),
    "python3-venv": ("venv", "ensurepip"),
    "python3-webbrowser": ("webbrowser",),
    "python3-xml": ("xml", "xmlrpc", "_elementtree", "pyexpat"),
}
# Not packaged for OpenWrt at all.
ABSENT = ("tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "test", "_osx_support")
# Imported only inside try/except ImportError; the agent works without them.
OPTIONAL = {
    "python3-openssl": "ssl and _hashlib: urllib3, http.client and asyncio try them; needed only for an "
                       "https:// base_url (opkg install python3-openssl ca-bundle)",
    "python3-lzma": "shutil and zipfile try lzma; nothing here reads .xz",
    "python3-ctypes": "prompt_toolkit tries ctypes to save and restore the C-level SIGINT handler "
                      "around a prompt (its issue 1576); without it Python's own handler is used",
}
MODULE_PACKAGE = {m: pkg for pkg, mods in SPLIT_PACKAGES.items() for m in mods}
