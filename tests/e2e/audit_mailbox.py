#!/usr/bin/python3
"""What an auditor sees in one mailbox folder, read with Python's imaplib and email packages only
(nothing of zarc's own code): prints JSON
  {"folder_exists": bool, "messages": [{"message_id", "subject", "defects", "flags", "internal_date",
    "attachments": [{"name", "sha256"}], "listed_sha256": [...], "max_line": N}]}
usage: audit_mailbox.py HOST PORT USER PASSWORD FOLDER
   or: audit_mailbox.py --eml-dir DIR   (the same for a folder of .eml files)
"""
import email
import email.policy
import hashlib
import imaplib
import json
import os
import re
import sys

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def describe(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [type(d).__name__ for d in msg.defects]
    attachments, listed = [], set()
    for part in msg.walk():
        defects += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True) or b""
            attachments.append({"name": part.get_filename(), "sha256": hashlib.sha256(payload).hexdigest()})
        elif part.get_content_type() == "text/plain":
            listed.update(HEX64.findall(part.get_content()))
    return {
        "message_id": (msg["Message-ID"] or "").strip().strip("<>"),
        "subject": str(msg["Subject"] or ""),
        "defects": defects,
        "attachments": attachments,
        "listed_sha256": sorted(listed),
        "max_line": max((len(l) for l in raw.split(b"\r\n")), default=0),
    }


def from_imap(host, port, user, password, folder):
    conn = imaplib.IMAP4(host, int(port))
    conn.login(user, password)
    quoted = '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
    typ, _ = conn.select(quoted, readonly=True)
    out = {"folder_exists": typ == "OK", "messages": []}
    if typ == "OK":
        typ, data = conn.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        for item in data or []:
            if not isinstance(item, tuple):
                continue
            meta, raw = item
            info = describe(raw)
            info["flags"] = (re.search(rb"FLAGS \(([^)]*)\)", meta) or [b"", b""])[1].decode()
            date = re.search(rb'INTERNALDATE "([^"]+)"', meta)
            info["internal_date"] = date.group(1).decode() if date else ""
            out["messages"].append(info)
    conn.logout()
    return out


def from_eml_dir(path):
    out = {"folder_exists": os.path.isdir(path), "messages": []}
    if out["folder_exists"]:
        for name in sorted(os.listdir(path)):
            if name.endswith(".eml"):
                with open(os.path.join(path, name), "rb") as f:
                    out["messages"].append(describe(f.read()))
    return out


if __name__ == "__main__":
    if sys.argv[1] == "--eml-dir":
        print(json.dumps(from_eml_dir(sys.argv[2])))
    else:
        print(json.dumps(from_imap(*sys.argv[1:6])))
