<%@ Page Language="C#" AutoEventWireup="true" %>
<script runat="server">
    protected void Page_Load(object sender, EventArgs e)
    {
        string name = Request.QueryString["name"] ?? "guest";
        Greeting.Text = Server.HtmlEncode("Hello " + name);
        var proc = System.Diagnostics.Process.GetCurrentProcess();
        Memory.Text = (proc.WorkingSet64 / 1048576).ToString() + " MB";
    }
</script>
<html><body>
<form runat="server">
    <asp:Label ID="Greeting" runat="server" />
    <asp:Label ID="Memory" runat="server" />
</form>
</body></html>
