"""The live session: causal analysis, guided routine, safety prompts and the terminal view.

:mod:`.analyzer` runs the offline detectors causally, :mod:`.guided` walks through the
routine, :mod:`.safety` asks for pain and holds the guidance, :mod:`.state` is the
snapshot the view shows, :mod:`.view` renders it (rich, or plain lines when the output
is not a terminal) and :mod:`.session` ties them to a BLE recording.
"""
