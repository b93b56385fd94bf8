// Podwarden webshell rules: classic ASP (VBScript/JScript) and ASP.NET (ASPX/ASHX/ASMX).
//
// ASP shells evaluate request text (Execute/Eval in VBScript, eval(..., "unsafe") in
// JScript.NET), run processes through WScript.Shell or System.Diagnostics.Process with
// request-controlled file names/arguments, or load assemblies decoded from the request body.

rule asp_eval_of_request_input
{
    meta:
        description = "Execute/Eval/ExecuteGlobal of request input (VBScript or JScript)"
        category = "asp"
        score = 95
    strings:
        $vb_exec = /\b(Execute|ExecuteGlobal|Eval)\s*[\( ]\s*[^\n;]{0,40}Request\s*(\.\s*(Form|QueryString|Item|Params|Cookies|Headers|ServerVariables))?\s*[\(\[]/ nocase
        $js_unsafe = /\beval\s*\(\s*[^;]{0,100}["']unsafe["']/ nocase
    condition:
        any of them
}

rule asp_process_with_request_input
{
    meta:
        description = "process started with a request-controlled file name or arguments"
        category = "asp"
        score = 90
    strings:
        $start_req = /Process\.Start\s*\(\s*[^;]{0,100}Request\s*(\.\s*(Form|QueryString|Item|Params|Headers))?\s*[\(\[]/ nocase
        $psi_req = /new\s+(System\.Diagnostics\.)?ProcessStartInfo\s*\(\s*[^;]{0,100}Request\s*(\.\s*(Form|QueryString|Item|Params|Headers))?\s*[\(\[]/ nocase
        $prop_req = /\.(FileName|Arguments)\s*=\s*[^;\n]{0,100}Request\s*(\.\s*(Form|QueryString|Item|Params|Headers))?\s*[\(\[]/ nocase
        $txt_req = /\.(FileName|Arguments)\s*=\s*[^;\n]{0,60}\.Text\s*;/ nocase
        $psi = "ProcessStartInfo" nocase
    condition:
        $start_req or $psi_req or $prop_req or ($txt_req and $psi)
}

rule asp_process_small_page
{
    meta:
        description = "small ASP.NET page starting processes and reading request input"
        category = "asp"
        score = 65
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService)|runat\s*=\s*["']?server/ nocase
        $proc = /ProcessStartInfo|Process\.Start\s*\(|\.StartInfo\.|new\s+(System\.Diagnostics\.)?Process\s*\(\s*\)/ nocase
        $req = /Request\s*(\.\s*(Form|QueryString|Item|Params|Headers))?\s*\[|Request\.(Form|QueryString|Params)\s*\(/ nocase
        $cmd = /"cmd(\.exe)?"|"\/c |"powershell(\.exe)?"|"\/bin\/(ba)?sh"/ nocase
    condition:
        filesize < 12KB and $page and $proc and ($req or $cmd)
}

rule asp_wscript_shell_with_request
{
    meta:
        description = "classic ASP running commands through WScript.Shell with request input"
        category = "asp"
        score = 85
    strings:
        $shell = /CreateObject\s*\(\s*["'](WScript\.Shell|Shell\.Application|WScript\.Network)["']/ nocase
        $run = /\.(Exec|Run|ShellExecute)\s*[\( ]/ nocase
        $req = /Request\s*(\.\s*(Form|QueryString|Item|ServerVariables))?\s*\(/ nocase
    condition:
        $shell and $run and $req
}

rule asp_assembly_load_from_request
{
    meta:
        description = "assembly loaded from request bytes (encrypted/base64 loader shell)"
        category = "asp"
        score = 95
    strings:
        $load_req = /Assembly\.Load\s*\(\s*[^;]{0,160}Request/ nocase
        $load = /Assembly\.Load\s*\(|GetMethod\s*\(\s*"Load"/ nocase
        $input = /Request\.(BinaryRead|InputStream|Form|Item|Params|QueryString)|Request\s*\[|Request\s*\(/ nocase
        $decode = /FromBase64String|RijndaelManaged|AesManaged|CreateDecryptor|TransformFinalBlock/ nocase
        $invoke = /CreateInstance\s*\(|\.Invoke\s*\(|\.Equals\s*\(\s*(Context|this|HttpContext\.Current)\s*\)/ nocase
    condition:
        $load_req or ($load and $input and $decode and $invoke)
}

rule asp_instance_equals_context
{
    meta:
        description = "dynamically created instance invoked through Equals(this) or Equals(Context)"
        category = "asp"
        score = 85
    strings:
        $eq = /CreateInstance\s*\([^)]{0,60}\)\s*\.Equals\s*\(/ nocase
    condition:
        $eq
}

rule asp_file_write_from_request
{
    meta:
        description = "ASP/ASPX writing a file at a request-chosen path (dropper / file manager)"
        category = "asp"
        score = 65
    strings:
        $write_req = /File\.(WriteAllText|WriteAllBytes|AppendAllText|Copy|Move|Delete)\s*\(\s*[^;]{0,60}Request\s*(\.\s*(Form|QueryString|Item|Params))?\s*[\(\[]/ nocase
        $saveas_req = /\.SaveAs\s*\(\s*[^;]{0,60}Request\s*(\.\s*(Form|QueryString|Item|Params))?\s*[\(\[]/ nocase
        $fso_req = /\.(CreateTextFile|OpenTextFile|DeleteFile|CopyFile)\s*\(\s*[^\n]{0,60}Request\s*(\.\s*(Form|QueryString|Item))?\s*\(/ nocase
    condition:
        any of them
}

rule asp_execute_obfuscated
{
    meta:
        description = "VBScript Execute/Eval of text built with Chr()/UnEscape()/StrReverse()"
        category = "asp"
        score = 75
    strings:
        $exec = /\b(Execute|ExecuteGlobal|Eval)\s*\(?\s*(Chr|ChrW|ChrB|UnEscape|StrReverse|Replace)\s*\(/ nocase
    condition:
        $exec
}

rule asp_exec_with_file_manager
{
    meta:
        description = "ASP.NET page combining process execution, request input and file management (file-manager shell)"
        category = "asp"
        score = 70
    strings:
        $page = /<%@\s*(Page|WebHandler)|runat\s*=\s*["']?server/ nocase
        $exec = /ProcessStartInfo|Process\.Start\s*\(|\.StartInfo\./ nocase
        $req = /Request\s*(\.\s*(Form|QueryString|Item|Params))?\s*\[|Request\.(Form|QueryString|Params)\s*\(|\.Text\b/ nocase
        $f1 = /Directory\.GetFiles\s*\(|\.GetFiles\s*\(/ nocase
        $f2 = /File\.Delete\s*\(/ nocase
        $f3 = /\.SaveAs\s*\(/ nocase
        $f4 = /File\.(Move|Copy)\s*\(/ nocase
        $f5 = /Directory\.(Delete|CreateDirectory|GetDirectories)\s*\(/ nocase
    condition:
        $page and $exec and $req and 3 of ($f*)
}
