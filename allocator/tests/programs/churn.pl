# An allocation-heavy Perl workload with deterministic output (hashes, arrays,
# strings, regexes, sorting); real_programs.py compares its output with and
# without the allocator preloaded.
use strict;
use warnings;

my $x = 12345;
sub rnd { $x = ($x * 1103515245 + 12345) % 2147483648; return $x; }

my %index;
for my $i (0 .. 199_999) {
  push @{ $index{ "k" . (rnd() % 30000) } }, $i;
}
my $sum = 0;
$sum += scalar(@{ $index{$_} }) for keys %index;
my @sorted = sort { @{ $index{$b} } <=> @{ $index{$a} } || $a cmp $b } keys %index;
print "hash: ", scalar(keys %index), " keys, $sum values, top $sorted[0]\n";

delete $index{$_} for @sorted[0 .. 9999];
print "after delete: ", scalar(keys %index), " keys\n";

my @parts = map { ("abcdefghij" x 20) . $_ } 0 .. 49_999;
my $text = join("|", map { substr($_, rnd() % 150) } @parts);
my $count = () = $text =~ /[a-j]{5}\d+/g;
(my $upper = $text) =~ s/([a-e]+)(\d)/\U$1\E$2/g;
my $checksum = unpack("%32C*", $upper);
print "strings: length ", length($text), ", $count matches, checksum $checksum\n";

my @records = map { { id => $_, name => "n" . (rnd() % 1000), tags => [ map { rnd() % 50 } 1 .. ($_ % 12) ] } } 0 .. 39_999;
my $tags = 0;
$tags += scalar(@{ $_->{tags} }) for @records;
my @by_name = sort { $a->{name} cmp $b->{name} || $a->{id} <=> $b->{id} } @records;
print "records: $tags tags, first $by_name[0]{name}/$by_name[0]{id}, last $by_name[-1]{name}/$by_name[-1]{id}\n";
