#!/usr/bin/python3
"""An IMAP client independent of zarc's, for tests: lists a folder's messages as JSON.

usage: imap_probe.py HOST PORT USER PASSWORD FOLDER
prints {"folders": [...], "folder_exists": bool,
        "messages": [{"uid", "flags", "internal_date", "sha256", "size", "message_id"}]}
"""
import email
import email.policy
import hashlib
import imaplib
import json
import re
import sys
from datetime import datetime


def main():
    host, port, user, password, folder = sys.argv[1:6]
    conn = imaplib.IMAP4(host, int(port))
    conn.login(user, password)
    typ, listed = conn.list()
    folders = []
    for line in listed or []:
        if line is None:
            continue
        m = re.match(rb'\(.*?\) (?:"(?:\\.|[^"])*"|NIL) (.*)$', line)
        name = m.group(1).decode() if m else line.decode()
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('\\"', '"').replace('\\\\', '\\')
        folders.append(name)
    out = {"folders": folders, "folder_exists": folder in folders, "messages": []}
    if folder in folders:
        typ, _ = conn.select('"' + folder.replace('\\', '\\\\').replace('"', '\\"') + '"',
                             readonly=True)
        if typ != "OK":
            raise SystemExit("cannot select " + folder)
        typ, data = conn.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        for item in data or []:
            if not isinstance(item, tuple):
                continue
            meta, body = item
            uid = int(re.search(rb"UID (\d+)", meta).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode()
            date = re.search(rb'INTERNALDATE "([^"]+)"', meta).group(1).decode()
            when = datetime.strptime(date, "%d-%b-%Y %H:%M:%S %z")
            msg = email.message_from_bytes(body, policy=email.policy.compat32)
            mid = (msg.get("Message-ID") or "").strip().strip("<>")
            out["messages"].append({
                "uid": uid,
                "flags": flags,
                "internal_date": int(when.timestamp()),
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "message_id": mid,
            })
    conn.logout()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
