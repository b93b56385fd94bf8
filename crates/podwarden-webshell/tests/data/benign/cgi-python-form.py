#!/usr/bin/env python3
import cgi
import html
import subprocess

form = cgi.FieldStorage()
name = html.escape(form.getfirst("name", "world"))
print("Content-Type: text/html\n")
print("<p>Hello, %s</p>" % name)
load = subprocess.run(["uptime"], capture_output=True, text=True).stdout
print("<pre>%s</pre>" % html.escape(load))
