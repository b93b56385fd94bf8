<%@ Language="VBScript" %>
<%
Dim name
name = Server.HTMLEncode(Request.Form("name"))
If name <> "" Then
    Set fso = Server.CreateObject("Scripting.FileSystemObject")
    Set f = fso.OpenTextFile(Server.MapPath("guestbook.txt"), 8, True)
    f.WriteLine(name)
    f.Close
End If
Response.Write("Thanks, " & name)
%>
