"""BLE: the client (bleak), the recorder (queue -> decoder -> store), and the emulated tag.

Only :mod:`tracker.ble.client` uses bleak's public API; :mod:`tracker.ble.bumble_backend`
implements bleak's backend interface over Bumble, and :mod:`tracker.ble.virtual_tag` is
a Bumble peripheral. Bumble is an optional extra (``tracker[demo]``); it is imported only
for ``--virtual`` and ``tracker demo``.
"""
