#!/usr/bin/env python3
"""Independent check of messages rendered by zarc's converter, with Python's email package.

Usage: verify_eml.py MANIFEST.json
The manifest is a list of {"eml": path, "expected": {...}} where expected holds
  subject_raw            the topic as captured (this script sanitises it itself)
  from: {name_raw, address}
  to: [{name_raw, address}, ...]
  headers: [field names, in order]  the exact top-level header set
  attachments: [{filename, sha256}, ...]  in order
  body_contains: [strings the plain-text body must contain]
Prints one line per failure and exits 1 if there was any.
"""
import base64
import email
import email.header
import email.policy
import email.utils
import hashlib
import json
import re
import sys

# Same contract as the converter's SanitizeHeaderText, written independently: controls, DEL,
# C1 controls and U+2028/2029 are whitespace; runs collapse; trimmed.
_SPACE = re.compile('[\x00-\x20\x7f\x80-\x9f\u2028\u2029]+')


def sanitise(text, max_chars=0):
    out = _SPACE.sub(' ', text).strip(' ')
    if max_chars and len(out) > max_chars:
        out = out[:max_chars].rstrip(' ')
    return out


_ENCODED_WORD = re.compile(r'=\?([^?]+)\?([bBqQ])\?([^?]*)\?=$')


def decode_word(atom):
    match = _ENCODED_WORD.match(atom)
    if not match:
        return None
    charset, encoding, text = match.groups()
    if encoding in 'bB':
        data = base64.b64decode(text, validate=True)
    else:
        data = re.sub(r'=([0-9A-Fa-f]{2})', lambda m: chr(int(m.group(1), 16)),
                      text.replace('_', ' ')).encode('latin-1')
    return data.decode(charset)


def split_mailboxes(raw):
    """An RFC 5322 address-list of `phrase <addr>` mailboxes, written from the RFC: quoted-strings
    with quoted-pairs, atoms, and RFC 2047 encoded-words (whitespace between two adjacent
    encoded-words dropped, §6.2). Returns [(display name, address, whether the name had adjacent
    encoded-words)]."""
    raw = raw.replace('\r\n', '')
    mailboxes, words, i = [], [], 0
    while i < len(raw):
        c = raw[i]
        if c == '"':
            j, text = i + 1, ''
            while raw[j] != '"':
                if raw[j] == '\\':
                    j += 1
                text += raw[j]
                j += 1
            words.append(('quoted', text))
            i = j + 1
        elif c == '<':
            j = raw.index('>', i)
            name, adjacent = '', False
            for n, (kind, text) in enumerate(words):
                if n > 0 and kind == 'encoded' and words[n - 1][0] == 'encoded':
                    adjacent = True
                elif n > 0:
                    name += ' '
                name += text
            mailboxes.append((name, raw[i + 1:j], adjacent))
            words, i = [], j + 1
        elif c in ' \t,':
            i += 1
        else:
            j = i
            while j < len(raw) and raw[j] not in ' \t<",':
                j += 1
            atom = raw[i:j]
            decoded = decode_word(atom)
            words.append(('encoded', decoded) if decoded is not None else ('atom', atom))
            i = j
    return mailboxes


def check(path, expected, fail):
    raw = open(path, 'rb').read()
    if not raw.endswith(b'\r\n'):
        fail('message does not end with CRLF')
    for number, line in enumerate(raw.split(b'\r\n')[:-1], 1):
        if b'\r' in line or b'\n' in line:
            fail(f'line {number} has a bare CR or LF')
        if len(line) > 998:
            fail(f'line {number} is {len(line)} octets, over 998')
        if any(b > 0x7f for b in line):
            fail(f'line {number} is not 7-bit')

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    legacy = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in msg.walk():
        for defect in part.defects:
            fail(f'defect in {part.get_content_type()}: {defect!r}')
        for name, value in part.items():
            for defect in getattr(value, 'defects', ()):
                fail(f'defect in header {name}: {defect!r}')

    names = list(msg.keys())
    if names != expected['headers']:
        fail(f'header set {names} != expected {expected["headers"]}')

    subject = str(msg['Subject'])
    if subject != sanitise(expected['subject_raw']):
        fail(f'Subject decodes to {subject!r}, expected {sanitise(expected["subject_raw"])!r}')

    def check_addresses(field, wanted):
        parsed = msg[field].addresses
        raw_mailboxes = split_mailboxes(legacy[field])
        if len(parsed) != len(wanted) or len(raw_mailboxes) != len(wanted):
            fail(f'{field} has {len(parsed)} (policy.default) / {len(raw_mailboxes)} (RFC 5322 '
                 f'split) addresses, expected {len(wanted)}')
            return
        for got, (raw_name, raw_address, adjacent), want in zip(parsed, raw_mailboxes, wanted):
            name = sanitise(want['name_raw'], 200)
            if got.addr_spec != want['address'] or raw_address != want['address']:
                fail(f'{field} address {got.addr_spec!r} / {raw_address!r} != {want["address"]!r}')
            if raw_name != name:
                fail(f'{field} name decodes (RFC 2047) to {raw_name!r}, expected {name!r}')
            if not adjacent:
                if got.display_name != name:
                    fail(f'{field} name parses (policy.default) to {got.display_name!r}, expected {name!r}')
            # CPython's phrase parser puts a space between adjacent encoded-words where RFC 2047
            # §6.2 drops the whitespace, so its view of an encoded name is compared with
            # whitespace ignored; the exact comparison is the RFC 2047 one above.
            elif ''.join(got.display_name.split()) != ''.join(name.split()):
                fail(f'{field} name parses (policy.default) to {got.display_name!r}, expected {name!r}')

    check_addresses('From', [expected['from']])
    check_addresses('To', expected['to'])

    if msg.get_content_type() != 'multipart/mixed':
        fail(f'top-level type is {msg.get_content_type()}')
    plain = msg.get_body(preferencelist=('plain',))
    html = msg.get_body(preferencelist=('html',))
    if plain is None or html is None:
        fail('no text/plain and text/html body')
    else:
        text = plain.get_content()
        for needle in expected.get('body_contains', []):
            if needle not in text:
                fail(f'plain body lacks {needle!r}')
        if '<script' in html.get_content().lower():
            fail('html body contains a script tag: escaping failed')

    attachments = list(msg.iter_attachments())
    if len(attachments) != len(expected['attachments']):
        fail(f'{len(attachments)} attachments, expected {len(expected["attachments"])}')
    for part, want in zip(attachments, expected['attachments']):
        if part.get_filename() != want['filename']:
            fail(f'attachment name {part.get_filename()!r} != {want["filename"]!r}')
        if part['Content-Transfer-Encoding'] != 'base64':
            fail(f'attachment {want["filename"]!r} is not base64')
        encoded = part.get_payload(decode=False)
        lines = encoded.split('\r\n') if '\r\n' in encoded else encoded.split('\n')
        if any(len(line) > 76 for line in lines):
            fail(f'attachment {want["filename"]!r} has base64 lines over 76')
        data = base64.b64decode(''.join(lines), validate=True)
        digest = hashlib.sha256(data).hexdigest()
        if digest != want['sha256']:
            fail(f'attachment {want["filename"]!r} decodes to SHA-256 {digest}, expected {want["sha256"]}')


def main():
    manifest = json.load(open(sys.argv[1], encoding='utf-8'))
    failures = 0
    for entry in manifest:
        def fail(what, path=entry['eml']):
            nonlocal failures
            failures += 1
            print(f'{path}: {what}')
        try:
            check(entry['eml'], entry['expected'], fail)
        except Exception as e:  # a crash while parsing is a failure of the message, not the script
            fail(f'exception while checking: {e!r}')
    print(f'checked {len(manifest)} messages, {failures} failures')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
