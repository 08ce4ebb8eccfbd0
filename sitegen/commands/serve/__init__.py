"""``build.py serve``: a live preview on 127.0.0.1.

The site is built into a folder of its own under ``.cache/serve/`` beside
site.yml (never the real output folder), served under the sub-path given by
``--base`` (as on GitHub Pages: ``/repo/``), and rebuilt when content/,
the translation memory, themes/, templates/ or site.yml change. A build that
fails prints its problems and leaves the last good site served.

Served HTML responses (not the files on disk) get a small script before
``</body>`` that long-polls ``/__reload?since=N``; the answer is the build
counter, and the page reloads itself when it differs from the one it was
served with.

The preview is on 127.0.0.1, yet a web page in the same browser can reach it
(and, by DNS rebinding, read it) and any local program can connect; so it
answers only to this machine's host names, closes connections that stay silent
(``request_timeout``), handles a bounded number at once (``max_connections``),
and neither a full descriptor table nor a failed rebuild stops it.

The modules, by job: ``main`` (the command line), ``server`` (the PreviewServer:
sockets, connection limits, life cycle, rebuilds), ``handler`` (answering a
request), ``watcher`` (noticing changes), ``builder`` (running a build and
reporting its problems).
"""
