#!/usr/bin/env python3
"""A login check for gohub's command authenticator (CommandAuthenticator).

gohub runs this program for every login, writes the login form to its stdin as JSON
({"username", "typed_username", "password", "fields", "remote_addr"}) and reads the answer
from stdout: {"name", "admin", "groups", "auth_state"} to let the user in, or
{"refused": true} to refuse, with an optional "message" for the login form. A crash (non-zero
exit status) refuses too, and gohub logs it.

This one checks passwords against a JSON file of PBKDF2 hashes (USERS_FILE, default
users.json beside the script):

    {"alice": {"salt": "<hex>", "hash": "<hex>", "admin": true, "groups": ["staff"]}}

Make an entry with:  python3 check_login.py hash   (reads the password from stdin)
"""
import hashlib
import hmac
import json
import os
import secrets
import sys

ROUNDS = 200_000
USERS_FILE = os.environ.get("USERS_FILE", os.path.join(os.path.dirname(__file__), "users.json"))


def pbkdf2(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), ROUNDS).hex()


def main():
    if sys.argv[1:] == ["hash"]:
        salt = secrets.token_hex(16)
        print(json.dumps({"salt": salt, "hash": pbkdf2(sys.stdin.readline().rstrip("\n"), salt)}))
        return 0
    login = json.load(sys.stdin)
    with open(USERS_FILE) as f:
        user = json.load(f).get(login["username"])
    if user is None or not hmac.compare_digest(pbkdf2(login["password"], user["salt"]), user["hash"]):
        print(json.dumps({"refused": True}))  # gohub shows "Invalid username or password"
        return 0
    if user.get("disabled"):
        print(json.dumps({"refused": True, "message": "Your account is disabled."}))
        return 0
    print(json.dumps({
        "name": login["username"],
        "admin": user.get("admin", False),
        "groups": user.get("groups", []),
        "auth_state": {"checked_by": "check_login.py"},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
