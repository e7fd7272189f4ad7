"""``assay/ctf_local``: small capture-the-flag challenges solved with bash and python tools.

`challenges` (pure) makes each sample's flag and files from a seed, ``files/`` holds what is
shipped as is (the toy vulnerable ``vault.py``), `scoring` (pure) matches flags, and `task`
wraps them as an Inspect task run in a sandbox; only `task` imports inspect_ai.
"""
