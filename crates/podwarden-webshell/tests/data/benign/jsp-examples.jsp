<%@ page contentType="text/html; charset=UTF-8" import="java.util.*" %>
<%@ taglib prefix="c" uri="jakarta.tags.core" %>
<html>
<body>
<h1>Request information</h1>
<%
    String name = request.getParameter("name");
    if (name == null) { name = "guest"; }
    int cpus = Runtime.getRuntime().availableProcessors();
    long free = Runtime.getRuntime().freeMemory();
%>
<p>Hello <c:out value="${param.name}"/>, this server has <%= cpus %> processors and <%= free %> bytes free.</p>
<p>Method: <%= request.getMethod() %>, path: <%= request.getRequestURI() %></p>
<% for (Enumeration<String> e = request.getHeaderNames(); e.hasMoreElements();) {
     String h = e.nextElement(); %>
  <div><%= h %></div>
<% } %>
</body>
</html>
